"""Authentication and authorization hooks that crossbar loads into the router worker.

Authenticators use crossbar's ``function`` type (called in-process, no extra session); the
authorizer is a procedure registered by a router component, as crossbar's dynamic authorization
requires. Both read the same principals file.

The authorizer also writes the audit trail: it is the one place that sees every control call
with the caller the router authenticated (a runtime behind a router-to-router link or a bridge
does not), so it publishes each allowed one on ``plclink.audit`` for the registry.

Crossbar caches authorizations per (realm, role, uri, action), not per session:
``principals.authorization`` says which answers are role-wide.
"""
import time

from autobahn.twisted.wamp import ApplicationSession
from autobahn.wamp.exception import ApplicationError

from plc_protocol.wamp_conventions import split_name
from plc_protocol.registry_names import AUDIT_TOPIC
from router import anonymous, crossbar_compat, sites
from router.principals import (ANONYMOUS_ROLES, Principal, PrincipalsError, PrincipalsFile,
                               audited_call, authorization, cryptosign_answer, ticket_answer,
                               wampcra_answer)

crossbar_compat.apply()

AUTHORIZE_PROCEDURE = "plclink.authorize"
_files = {}


def _principals_file(config) -> PrincipalsFile:
    path = config["principals"]
    if path not in _files:
        _files[path] = PrincipalsFile(path)
    return _files[path]


def _refuse(error):
    return ApplicationError("wamp.error.not_authorized", str(error))


def create_wampcra_authenticator(config, controller):
    principals = _principals_file(config)

    def authenticate(realm, authid, details):
        try:
            return wampcra_answer(principals.get(authid), authid)
        except (PrincipalsError, OSError) as error:
            raise _refuse(error) from None
    return authenticate


def create_ticket_authenticator(config, controller):
    principals = _principals_file(config)

    def authenticate(realm, authid, details):
        try:
            return ticket_answer(principals.get(authid), authid, details.get("ticket"))
        except (PrincipalsError, OSError) as error:
            raise _refuse(error) from None
    return authenticate


def create_cryptosign_authenticator(config, controller):
    """Plant routers (role site) log in with their node key over their router-to-router link."""
    principals = _principals_file(config)

    def authenticate(realm, authid, details):
        try:
            return cryptosign_answer(principals.get(authid), authid)
        except (PrincipalsError, OSError) as error:
            raise _refuse(error) from None
    return authenticate


class AuthorizerSession(ApplicationSession):
    """Registers the dynamic authorizer that decides for every role (router/principals.py)."""

    async def onJoin(self, details):
        principals = _principals_file(self.config.extra)

        def authorize(session, uri, action, options=None):
            try:
                known = principals.principals()
            except (PrincipalsError, OSError) as error:
                self.log.error("principals file unusable: {error}", error=str(error))
                known = {}
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
            return answer

        await self.register(authorize, AUTHORIZE_PROCEDURE)
        await self.subscribe(self._check_linked, "wamp.registration.on_create")

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
