"""Authentication and authorization hooks that crossbar loads into the router worker.

Authenticators use crossbar's ``function`` type (called in-process, no extra session); the
authorizer is a procedure registered by a router component, as crossbar's dynamic authorization
requires. Both read the same principals file, and the people file (router/login_guard.py).

The authorizer also writes the audit trail: it is the one place that sees every control call
with the caller the router authenticated (a runtime behind a router-to-router link or a bridge
does not), so it publishes each allowed one on ``plclink.audit`` for the registry and journals
every call beyond reading, every refusal and what calls meant (router/audit_journal.py,
router/audit_meaning.py).

Crossbar caches authorizations per (realm, role, uri, action), not per session:
``principals.authorization`` says which answers are role-wide.
"""
import copy
import time

from autobahn.twisted.wamp import ApplicationSession
from autobahn.wamp import message
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import RegisterOptions, SubscribeOptions
from twisted.internet import task, threads

from plc_protocol import registry_names
from plc_protocol.registry_names import AUDIT_TOPIC
from plc_protocol.wamp_conventions import split_name
from router import (anonymous, audit_journal, audit_meaning, crossbar_compat, login_guard,
                    people, sites)
from router.person_rights import person_may, required_role
from router.principals import (MANAGEMENT_PROCEDURES, READING_META_PROCEDURES, Principal,
                               PrincipalsError, PrincipalsFile, audited_call, authorization,
                               cryptosign_answer, may_publish_outside_runtimes)
from router.roles import ANONYMOUS_ROLES

crossbar_compat.apply()

AUTHORIZE_PROCEDURE = "plclink.authorize"
LOCAL_SITE = "local"   # the site of this router's own runtimes when it has no --site name
BLOB_CALLS = ("SeedBlob", "AppendChunkToBlob", "PurgeBlobs")   # summed up by NewPLC
login_guard.install_wampcra_hook()


def _principals_file(config) -> PrincipalsFile:
    return login_guard.guard_for(config).principals


def _refuse(error):
    return ApplicationError("wamp.error.not_authorized", str(error))


def create_wampcra_authenticator(config, controller):
    guard = login_guard.guard_for(config)
    return lambda realm, authid, details: guard.wampcra(authid, details)


def create_ticket_authenticator(config, controller):
    """Service tickets from the principals file, and people (router/people.py)."""
    guard = login_guard.guard_for(config)
    return lambda realm, authid, details: guard.ticket(authid, details)


def create_cryptosign_authenticator(config, controller):
    """Plant routers (role site) log in with their node key over their router-to-router link."""
    principals = _principals_file(config)

    def authenticate(realm, authid, details):
        try:
            return cryptosign_answer(principals.get(authid), authid)
        except (PrincipalsError, OSError) as error:
            raise _refuse(error) from None
    return authenticate


def _journaled(uri, action) -> bool:
    """Every call beyond reading is journaled, but for the blob calls of a transfer (its
    NewPLC says what was installed) and a runtime's testaments."""
    return (action == "call" and uri not in MANAGEMENT_PROCEDURES
            and required_role(uri, action, READING_META_PROCEDURES) != "viewer"
            and (split_name(uri) or (uri, uri))[1] not in BLOB_CALLS)


class AuthorizerSession(ApplicationSession):
    """Registers the dynamic authorizer that decides for every role (router/principals.py,
    router/person_rights.py), journals control calls and refusals, serves the journal, and ends
    the sessions of an account that was disabled, removed or changed."""

    async def onJoin(self, details):
        guard = self._guard = login_guard.guard_for(self.config.extra)
        self._site = self.config.extra.get("site") or LOCAL_SITE

        def authorize(session, uri, action, options=None):
            try:
                known = guard.principals.principals()
            except (PrincipalsError, OSError) as error:
                self.log.error("principals file unusable: {error}", error=str(error))
                known = {}
            if session.get("authrole") in people.PERSON_ROLES and \
                    session.get("authmethod") == "ticket":
                return self._authorize_person(session, uri, action, known)
            principal = known.get(session.get("authid"))
            if session.get("authmethod") == "anonymous" and \
                    session.get("authrole") in ANONYMOUS_ROLES:
                # only a router run with --dev or --anonymous-role lets anonymous clients in
                principal = Principal(session.get("authid"), session.get("authrole"))
            elif principal is not None and principal.role != session.get("authrole"):
                principal = None
            answer = authorization(principal, uri, action, known.values())
            audited = audited_call(uri, action)
            if audited is not None and answer["allow"]:
                self._audit(session, uri, audited)
            if answer["allow"] and _journaled(uri, action):
                self._journal(session, uri, action, "allowed")
            return answer

        await self.register(authorize, AUTHORIZE_PROCEDURE)
        await self.register(self._query_journal, audit_journal.QUERY_PROCEDURE)
        await self.register(self._list_people, people.LIST_PROCEDURE)
        await self.register(self._change_people, people.CHANGE_PROCEDURE,
                            options=RegisterOptions(details_arg="details"))
        await self.subscribe(self._check_linked, "wamp.registration.on_create")
        await self._hear_effects()
        self._accounts = self._account_states()
        self._watch = task.LoopingCall(self._watch_accounts)
        self._watch.start(1.0, now=False)

    def onMessage(self, msg):
        """Events reach this in-process session as the very message the router sends every
        other subscriber; autobahn adds the event details to its kwargs (details_arg), which
        would then go out to them too (unserializable): give it a copy of its own."""
        if isinstance(msg, message.Event) and msg.kwargs:
            msg = copy.copy(msg)
            msg.kwargs = dict(msg.kwargs)
        super().onMessage(msg)

    def onLeave(self, details):
        if getattr(self, "_watch", None) is not None and self._watch.running:
            self._watch.stop()
        super().onLeave(details)

    def _authorize_person(self, session, uri, action, known) -> dict:
        """People are decided per person (their scope), so no answer is cached; every refusal
        and every call beyond reading is journaled."""
        person = self._guard.people.get(session.get("authid"))
        if person is not None and person.role != session.get("authrole"):
            person = None
        allowed, why = person_may(
            person, uri, action,
            lambda plc_id: sites.site_of(known.values(), plc_id) or self._site,
            READING_META_PROCEDURES, lambda name: may_publish_outside_runtimes(name, known.values()))
        audited = audited_call(uri, action)
        if audited is not None and allowed:
            self._audit(session, uri, audited)
        if not allowed:
            self.log.warn("refused {authid}: {why}", authid=session.get("authid"), why=why)
            self._journal(session, uri, action, "refused", why)
        elif _journaled(uri, action):
            self._journal(session, uri, action, "allowed")
        return {"allow": allowed, "disclose": True, "cache": False}

    async def _hear_effects(self) -> None:
        """What calls meant, told by the runtimes' force tables and status md5 and by the
        registry's alarms (router/audit_meaning.py)."""
        self._meanings = audit_meaning.Meanings()
        pattern = SubscribeOptions(match="wildcard", get_retained=True, details_arg="details")

        def forces(entries=None, *args, details=None, **kwargs):
            name = split_name(details.topic)
            if name is not None:
                self._journal_effects(self._meanings.forces(name[0], entries, time.time()))

        def status(state=None, *args, details=None, md5=None, **kwargs):
            name = split_name(details.topic)
            if name is not None:
                self._journal_effects(self._meanings.status(name[0], state, md5, time.time()))

        def alarm(document=None, *args, **kwargs):
            self._journal_effects(self._meanings.alarm(document or kwargs))
        await self.subscribe(forces, ".forces", options=pattern)
        await self.subscribe(status, ".status", options=pattern)
        await self.subscribe(alarm, registry_names.name("on_alarm"))

    def _journal_effects(self, records) -> None:
        for record in records:
            self._guard.journal.append(record["who"], "effect", record["what"],
                                       plc_id=record["id"])

    def _journal(self, session, uri, action, outcome, why=None) -> None:
        name = split_name(uri)
        if outcome == "allowed" and name is not None:
            self._meanings.called(name[0], name[1], session.get("authid"), time.time())
        verb = "called" if action == "call" else action
        what = f"{verb} {name[1] if name else uri}" + (f": {why}" if why else "")
        self._guard.journal.append(
            session.get("authid"), action, what, outcome, plc_id=name[0] if name else None,
            role=session.get("authrole"), address=anonymous.peer_address(
                session.get("transport")))

    def _query_journal(self, id=None, user=None, since=None, before=None, limit=100):
        """The journal, newest first, filtered and paged (``before``: a record's seq)."""
        try:
            limit = max(1, min(int(limit), 1000))
            since = float(since) if since is not None else None
            before = int(before) if before is not None else None
        except (TypeError, ValueError):
            raise ApplicationError("plclink.error.invalid_argument",
                                   "since: Unix time; before, limit: integers") from None
        return audit_journal.query(self._guard.journal.directory, id, user, since, before, limit)

    def _list_people(self):
        return [people.person_document(p) for p in self._guard.people.people().values()]

    async def _change_people(self, action, name, role=None, password=None, sites=(),
                             runtimes=(), details=None):
        """``plclink users ... --via-router``: the same change as on the router's host."""
        path = self._guard.people.path
        try:
            person = await threads.deferToThread(
                people.change_people, path, action, str(name), role, password,
                tuple(sites or ()), tuple(runtimes or ()),
                lambda taken: self._guard.principals.get(taken) is not None)
        except people.PeopleError as error:
            raise ApplicationError("plclink.error.invalid_argument", str(error)) from None
        except OSError as error:
            raise ApplicationError(
                "plclink.error.unavailable", f"the router cannot write its people file {path} "
                f"({error.strerror}): change it on the router's host with plclink users "
                "--people") from None
        what = f"{action} {name}" + (f" ({role}, scope {person.describe_scope()})"
                                     if action == "add" else "")
        self._guard.journal.append(details.caller_authid, "account", what,
                                   role=details.caller_authrole)
        return people.person_document(person) if person else None

    def _account_states(self) -> dict:
        return dict(self._guard.people.people())

    async def _watch_accounts(self) -> None:
        """The watch goes on whatever one look met (a LoopingCall stops at an error)."""
        try:
            await self._end_changed_accounts()
        except Exception as error:
            self.log.error("watching the people file: {error}", error=str(error))

    async def _end_changed_accounts(self) -> None:
        """A person disabled, removed or changed (role, scope, password) is logged out (their
        calls are refused from the change on anyway: the authorizer reads the file). One who
        appears already disabled may have logged in between two looks: logged out too."""
        now = self._account_states()
        changed = [name for name in {*self._accounts, *now}
                   if self._accounts.get(name) != now.get(name)
                   and (name in self._accounts or now[name].disabled)]
        self._accounts = now
        for name in changed:
            try:
                ended = await self.call("wamp.session.kill_by_authid", name,
                                        reason="wamp.close.killed",
                                        message="your account was disabled or changed")
            except ApplicationError as error:
                self.log.error("could not end {name}'s sessions: {error}", name=name,
                               error=str(error))
                continue
            if ended:
                self.log.info("ended {n} session(s) of {name}: account disabled or changed",
                              n=len(ended), name=name)
                self._guard.journal.append(name, "sessions", f"ended {len(ended)} session(s): "
                                           "account disabled, removed or changed", role="router")

    async def _check_linked(self, session_id, details):
        """A plant's link registers whatever the plant has; it is never refused (crossbar
        would stop the link's re-sync), so a runtime ID outside the site's ``carries`` is
        reported here: the principals file's uniqueness check does not cover it."""
        name = split_name(details.get("uri", ""))
        if name is None or name[1] != sites.MARKER_METHOD:
            return
        try:
            caller = await self.call("wamp.session.get", session_id)
        except ApplicationError:
            return
        if caller.get("authrole") != sites.SITE_ROLE:
            return
        try:
            known = _principals_file(self.config.extra).principals()
        except (PrincipalsError, OSError):
            return   # reported by the authorizer
        claimed = sites.site_of(known.values(), name[0])
        if claimed != caller["authid"]:
            self.log.error(
                "site {site} links runtime {id}, which {why}: runtime IDs must be unique "
                "fleet-wide; name it in the site's 'carries' (the principals file is then "
                "checked for clashes) or rename it", site=caller["authid"], id=name[0],
                why=f"site {claimed} carries" if claimed else "its 'carries' does not name")

    def _audit(self, session, uri, audited) -> None:
        """Publish one control call (the role's permission discloses us as the publisher);
        the audit trail failing must never refuse the call."""
        try:
            self.publish(AUDIT_TOPIC, authid=session.get("authid"),
                         authrole=session.get("authrole"), session=session.get("session"),
                         procedure=uri, id=audited[0], method=audited[1], time=time.time(),
                         address=anonymous.peer_address(session.get("transport")))
        except Exception as error:
            self.log.error("audit event for {uri} not published: {error}", uri=uri,
                           error=str(error))
