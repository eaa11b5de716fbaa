"""Logins on the router: people checked against their argon2 hashes, every method throttled,
every refusal journaled.

Crossbar calls our ``function`` authenticators (router/auth.py) in the router worker; they ask
the one ``Guard`` of the worker. A person logs in with WAMP ticket (router/people.py says why);
services keep WAMP-CRA and tickets from the principals file. WAMP-CRA signatures are checked by
crossbar itself after our authenticator answered, so ``install_wampcra_hook`` wraps crossbar's
check to tell the guard how it went and to answer a failure late, like any other.
"""
import txaio
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import Deny
from crossbar.router.auth.wampcra import PendingAuthWampCra
from twisted.internet import reactor, task, threads

from router.audit_journal import AuditJournal
from router.anonymous import peer_address
from router.login_throttle import LoginThrottle, ThrottlePolicy, ordinal
from router.people import PeopleFile, Person, hash_password, password_matches
from router.principals import PrincipalsError, PrincipalsFile, ticket_answer, wampcra_answer

log = txaio.make_logger()
_NOBODY = Person("nobody", "viewer", hash_password("no account has this password"))


def refused(message):
    return ApplicationError("wamp.error.not_authorized", message)


class Guard:
    def __init__(self, config):
        self.principals = PrincipalsFile(config["principals"])
        self.people = PeopleFile(config["people"], lambda message: log.error(message))
        self.throttle = LoginThrottle(ThrottlePolicy(**config.get("throttle", {})))
        self.journal = AuditJournal(config["audit_dir"], config.get("audit_keep_days", 400))

    def person(self, authid):
        """The person logging in as ``authid``; a service principal's name is never a person's."""
        try:
            if self.principals.get(authid) is not None:
                return None
        except (PrincipalsError, OSError):
            pass
        return self.people.get(authid)

    # --- outcomes -------------------------------------------------------------------------

    def locked(self, authid, address):
        """A Deferred failing late when ``authid`` is locked out at ``address``, else None."""
        refusal = self.throttle.locked(authid, address)
        if refusal is None:
            return None
        return task.deferLater(reactor, refusal.delay, _raise, refused(
            f"too many failed logins: try again in {refusal.locked_for:.0f} s"))

    def failed(self, authid, address, why, role=None):
        """Count a failed login; journal it; the refusal, to be answered late (a Deferred)."""
        refusal = self.throttle.failed(authid, address)
        what = f"login refused ({ordinal(refusal.failures)} in a row): {why}"
        self.journal.append(authid, "login", what, "refused", role=role, address=address)
        if refusal.newly_locked:
            lockout = self.throttle.policy.lockout
            log.warn("login: {n} failed logins in a row for {authid} from {address}; locked "
                     "out there for {lockout:g} s", n=refusal.failures, authid=authid,
                     address=address, lockout=lockout)
            self.journal.append(authid, "login", f"locked out for {lockout:g} s after "
                                f"{refusal.failures} failed logins", "refused", address=address)
            reactor.callLater(self.throttle.policy.lockout, self._lock_over, authid, address)
        return task.deferLater(reactor, refusal.delay, _raise, refused(
            f"login refused for {authid!r}"))

    def _lock_over(self, authid, address):
        count = self.throttle.take_locked_count(authid, address)
        if count:
            log.warn("login: lockout of {authid} at {address} over; {count} attempts were "
                     "refused during it", authid=authid, address=address, count=count)
            self.journal.append(authid, "login", f"lockout over: {count} attempts refused "
                                "during it", "refused", address=address)

    def succeeded(self, authid, address, role):
        earlier = self.throttle.succeeded(authid, address)
        if earlier:
            log.info("login: {authid} from {address} in after {n} failed attempts",
                     authid=authid, address=address, n=earlier)
        if self.person(authid) is not None:
            self.journal.append(authid, "login", "logged in" + (
                f" after {earlier} failed attempts" if earlier else ""), role=role,
                address=address)

    # --- authenticators -------------------------------------------------------------------

    def ticket(self, authid, details):
        address = address_of(details.get("transport"))
        late = self.locked(authid, address)
        if late is not None:
            return late
        person = self.person(authid)
        if person is None:
            try:
                principal = self.principals.get(authid)
            except (PrincipalsError, OSError) as error:
                raise refused(str(error)) from None
            if principal is None:   # as slow as a person's wrong password: names stay hidden
                checking = threads.deferToThread(password_matches, _NOBODY, "")
                return checking.addCallback(lambda _: self.failed(authid, address,
                                                                  "no such account"))
            try:
                answer = ticket_answer(principal, authid, details.get("ticket"))
            except PrincipalsError as error:
                return self.failed(authid, address, str(error))
            self.succeeded(authid, address, answer["role"])
            return answer
        checking = threads.deferToThread(password_matches, person, str(details.get("ticket") or ""))

        def checked(matches):
            if not matches:
                return self.failed(authid, address, "wrong password", person.role)
            if person.disabled:
                return self.failed(authid, address, "account disabled", person.role)
            self.succeeded(authid, address, person.role)
            return {"role": person.role}
        return checking.addCallback(checked)

    def wampcra(self, authid, details):
        address = address_of(details.get("transport"))
        late = self.locked(authid, address)
        if late is not None:
            return late
        try:
            return wampcra_answer(self.principals.get(authid), authid)
        except (PrincipalsError, OSError) as error:
            return self.failed(authid, address, str(error))


def address_of(transport) -> str:
    """The source address of a login (router/anonymous.py reads it), for the throttle's keys."""
    return peer_address(transport) or "unknown"


def _raise(error):
    raise error


_guards = {}


def guard_for(config) -> Guard:
    key = config["principals"]
    if key not in _guards:
        _guards[key] = Guard(config)
    return _guards[key]


_crossbar_authenticate = PendingAuthWampCra.authenticate


def _authenticate(self, signature):
    """Crossbar's WAMP-CRA check, reported to the guard of our function authenticator."""
    result = _crossbar_authenticate(self, signature)
    guard = next(iter(_guards.values()), None)
    if guard is None or self._authprovider != "function":
        return result
    address = address_of(self._session_details.get("transport"))
    if isinstance(result, Deny):
        late = guard.failed(self._authid, address, "wrong WAMP-CRA signature")
        late.addErrback(lambda failure: result)
        return late
    guard.succeeded(self._authid, address, self._authrole)
    return result


def install_wampcra_hook() -> None:
    PendingAuthWampCra.authenticate = _authenticate
