"""Who may join the realm, with which role, and what each role may do.

The principals file (YAML) is the operator's one list of identities. Crossbar asks us at every
login (authenticators below) and at every register/publish of a runtime or bridge (authorizer),
so adding a runtime or rotating a secret only means editing the file: the router re-reads it
when it changes.

File layout::

    principals:
      plc-01:   {role: runtime, secret_file: /run/secrets/plc-01}
      bridge:   {role: bridge, secret_env: PLCLINK_BRIDGE_SECRET, carries: ["plc-07", "erpc-*"]}
      ide:      {role: ide, secret: "..."}           # WAMP-CRA
      operator: {role: ide, ticket_file: ...}       # ticket
      viewer:   {role: dashboard, ticket: "..."}
      registry: {role: registry, secret_file: ...}  # the fleet's memory (registry/)
      opcua:    {role: opcua, secret_file: ...}     # the OPC UA gateway (opcua_gateway/)
      plant-a:  {role: site, pubkey_file: ../plant-a/node.pub, carries: ["a-*"]}  # at HQ

A ``site`` is a plant router linked to this one (router/sites.py): it logs in with its node
key (``pubkey``, ``pubkey_file`` or ``pubkey_env``) and ``carries`` the runtime IDs it holds
(IDs or ``prefix*``), which must not overlap another site's or this router's own.

``secret`` / ``ticket`` may be given inline (in a file kept out of git), from a file
(``*_file``) or from the environment (``*_env``).
"""
import fnmatch
import hmac
import os
import secrets
from dataclasses import dataclass, field

import yaml

from plc_protocol import registry_names as registry_api
from plc_protocol.methods import AUDITED_METHODS, READING_METHODS
from plc_protocol.uris import validate_plc_id
from plc_protocol.wamp_conventions import RUNTIME_EVENTS, split_name
from router import sites
from router.roles import ROLES

MANAGEMENT_PROCEDURES = ("wamp.session.add_testament", "wamp.session.flush_testaments")
# Meta API procedures that only read the realm's state (fleet discovery for dashboards).
READING_META_PROCEDURES = (
    "wamp.session.list", "wamp.session.get", "wamp.session.count",
    "wamp.registration.list", "wamp.registration.lookup", "wamp.registration.match",
    "wamp.registration.get", "wamp.registration.list_callees", "wamp.subscription.list", "wamp.subscription.lookup",
    "wamp.subscription.get",
)


OPCUA_CALLED_METHODS = ("Write", "GetForces")   # force-model.md


class PrincipalsError(ValueError):
    pass


@dataclass(frozen=True)
class Principal:
    authid: str
    role: str
    secret: str | None = None
    ticket: str | None = None
    carries: tuple = field(default_factory=tuple)
    pubkey: str | None = None   # a site's node key (cryptosign)


def credential(authid, entry, kind, base_dir, holder="principal"):
    """Resolve one credential from inline text, a file or an environment variable (also the
    OPC UA gateway's user passwords, ``holder`` "user"); None when none is given."""
    given = [key for key in (kind, f"{kind}_file", f"{kind}_env") if entry.get(key)]
    if len(given) > 1:
        raise PrincipalsError(f"{holder} {authid!r}: give only one of {', '.join(given)}")
    if not given:
        return None
    key = given[0]
    value = entry[key]
    if key.endswith("_file"):
        path = os.path.join(base_dir, os.path.expanduser(str(value)))
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read().strip()
        except OSError as error:
            raise PrincipalsError(f"{holder} {authid!r}: cannot read {kind} file {path}: "
                                  f"{error.strerror}") from None
        # Beremiz's wamp.secret / psk files may hold "ID:secret"; accept both forms.
        return text.split(":", 1)[1] if text.startswith(f"{authid}:") else text
    if key.endswith("_env"):
        text = os.environ.get(str(value))
        if not text:
            raise PrincipalsError(f"{holder} {authid!r}: environment variable {value} is not "
                                  "set")
        return text
    return str(value)


def parse_principals(document, base_dir=".") -> dict:
    """Validate a loaded principals document; every mistake names the principal and the key."""
    if not isinstance(document, dict) or not isinstance(document.get("principals"), dict):
        raise PrincipalsError("the principals file must hold a mapping 'principals: {authid: {...}}'")
    result = {}
    for authid, entry in document["principals"].items():
        authid = str(authid)
        if not isinstance(entry, dict):
            raise PrincipalsError(f"principal {authid!r}: expected a mapping with at least 'role'")
        role = entry.get("role")
        if role not in ROLES:
            raise PrincipalsError(f"principal {authid!r}: role {role!r} is not one of {', '.join(ROLES)}")
        if role == "runtime":
            try:
                validate_plc_id(authid)
            except ValueError as error:
                raise PrincipalsError(f"principal {authid!r}: {error}") from None
        carries = entry.get("carries", [])
        if role == "bridge" and (not isinstance(carries, list) or not carries):
            raise PrincipalsError(f"principal {authid!r}: a bridge needs 'carries', a list of runtime "
                                  "IDs or patterns like 'erpc-*'")
        if role == sites.SITE_ROLE:
            result[authid] = _site(authid, entry, base_dir)
            continue
        principal = Principal(authid, role, credential(authid, entry, "secret", base_dir),
                              credential(authid, entry, "ticket", base_dir),
                              tuple(str(pattern) for pattern in carries))
        if principal.secret is None and principal.ticket is None:
            raise PrincipalsError(f"principal {authid!r}: give a secret (WAMP-CRA) or a ticket")
        result[authid] = principal
    try:
        sites.check_unique(result.values())
    except sites.SiteError as error:
        raise PrincipalsError(str(error)) from None
    return result


def _site(authid, entry, base_dir) -> Principal:
    try:
        validate_plc_id(authid)   # a site name is spelled like a runtime ID
    except ValueError as error:
        raise PrincipalsError(f"principal {authid!r}: {error}") from None
    pubkey = credential(authid, entry, "pubkey", base_dir)
    carries = entry.get("carries")
    if pubkey is None:
        raise PrincipalsError(f"principal {authid!r}: a site needs 'pubkey' (or pubkey_file): "
                              "the node.pub its 'plclink secrets --node-key' wrote")
    if not isinstance(carries, list) or not carries:
        raise PrincipalsError(f"principal {authid!r}: a site needs 'carries', the runtime IDs "
                              "it holds or prefixes like 'a-*'")
    try:
        return Principal(authid, sites.SITE_ROLE, carries=tuple(
            sites.check_carried_pattern(authid, str(p)) for p in carries),
            pubkey=sites.check_public_key(authid, pubkey))
    except sites.SiteError as error:
        raise PrincipalsError(str(error)) from None


class PrincipalsFile:
    """The principals file, re-read whenever it changes on disk (no router restart needed)."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self._stamp = None
        self._principals = {}

    def principals(self) -> dict:
        stat = os.stat(self.path)
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp != self._stamp:
            with open(self.path, encoding="utf-8") as handle:
                document = yaml.safe_load(handle)
            self._principals = parse_principals(document, os.path.dirname(self.path))
            self._stamp = stamp
        return self._principals

    def get(self, authid):
        return self.principals().get(authid)


def wampcra_answer(principal: Principal | None, authid) -> dict:
    """What crossbar's WAMP-CRA authenticator expects: the secret to check against and the role."""
    if principal is None or principal.secret is None:
        raise PrincipalsError(f"no WAMP-CRA principal {authid!r} on this router")
    return {"secret": principal.secret, "role": principal.role}


def cryptosign_answer(principal: Principal | None, authid) -> dict:
    """What crossbar's cryptosign authenticator expects: the site's public key and role."""
    if principal is None or principal.pubkey is None:
        raise PrincipalsError(f"no site {authid!r} with a public key on this router")
    return {"pubkey": principal.pubkey, "role": principal.role}


def ticket_answer(principal: Principal | None, authid, ticket) -> dict:
    if principal is None or principal.ticket is None or not hmac.compare_digest(
            principal.ticket.encode(), str(ticket or "").encode()):
        raise PrincipalsError(f"ticket refused for {authid!r}")
    return {"role": principal.role}


def _reads(uri: str) -> bool:
    """Calls that only read: meta procedures, the reading methods of any runtime."""
    name = split_name(uri)
    return uri in READING_META_PROCEDURES or (name is not None and name[1] in READING_METHODS)


def _dashboard_may(uri: str, action: str) -> bool:
    name = split_name(uri)
    if action == "subscribe":
        return (uri.startswith("wamp.") or (name is not None and name[1] in RUNTIME_EVENTS)
                or registry_api.registry_topic(uri))
    if action == "call":
        return _reads(uri) or registry_api.reading_procedure(uri)
    return False


def _registry_may(uri: str, action: str) -> bool:
    """The registry hears everything, asks runtimes only what reading roles may, and offers
    its procedures and topics under its own prefix."""
    if action == "subscribe":
        return True
    if action == "call":
        return _reads(uri)
    if action == "register":
        return registry_api.registry_procedure(uri)
    return action == "publish" and registry_api.registry_topic(uri)


def _opcua_may(uri: str, action: str) -> bool:
    """The OPC UA gateway hears everything, calls what reading roles may, the force table and
    ``<ID>.Write`` (a setpoint: it checks its own users may write), and offers nothing."""
    if action == "subscribe":
        return True
    name = split_name(uri)
    return action == "call" and (_reads(uri) or registry_api.reading_procedure(uri) or (
        name is not None and name[1] in OPCUA_CALLED_METHODS))


def speaks_for(principal: Principal, plc_id: str) -> bool:
    """Whether ``principal`` is the one voice of runtime ``plc_id`` on the router."""
    if principal.role == "runtime":
        return principal.authid == plc_id
    if principal.role == "bridge":
        return any(fnmatch.fnmatchcase(plc_id, pattern) for pattern in principal.carries)
    return False


def may_publish_outside_runtimes(uri: str, principals) -> bool:
    """Only a runtime, or the bridge carrying it, speaks for an ID: an IDE publishes neither
    a runtime event (``<ID>.status/log/trace/values``, whether or not that ID is a principal
    yet, e.g. a Beremiz runtime joining in --dev mode) nor anything under the prefix of an ID
    that a runtime or bridge principal speaks for."""
    name = split_name(uri)
    if name is not None and name[1] in RUNTIME_EVENTS:
        return False
    owner, dot, _ = uri.partition(".")
    return not (dot and any(speaks_for(other, owner) for other in principals))


def may(principal: Principal | None, uri: str, action: str, principals=()) -> bool:
    """Whether a session of ``principal`` may do ``action`` on ``uri``; ``principals``: every
    principal of the file (the IDs spoken for).

    Runtimes act only under their own ``<authid>.`` prefix; bridges only for the IDs their
    principal ``carries``; both may leave a testament and subscribe to anything (extension code
    listens to other topics). IDEs call and subscribe everything, register nothing, and publish
    outside the runtimes' names. Dashboards only read: runtime events and meta events, the
    reading methods of the method table, reading meta procedures, the registry's reading
    procedures and topics. Nobody but the registry registers or publishes under ``plclink.``.
    """
    if principal is None:
        return False
    if principal.role == "registry":
        return _registry_may(uri, action)
    if action in ("register", "publish") and uri.startswith(registry_api.PREFIX):
        return False   # plclink.audit and the registry's names speak for the router
    if principal.role == "dashboard":
        return _dashboard_may(uri, action)
    if principal.role == "opcua":
        return _opcua_may(uri, action)
    if principal.role == "ide":
        return action in ("call", "subscribe") or (
            action == "publish" and may_publish_outside_runtimes(uri, principals))
    if action == "subscribe":
        return True
    if action == "call":
        return uri in MANAGEMENT_PROCEDURES
    name = split_name(uri)
    if action not in ("register", "publish") or name is None:
        return False
    return speaks_for(principal, name[0])


def authorization(principal: Principal | None, uri: str, action: str, principals=()) -> dict:
    """The authorizer's answer to crossbar.

    Crossbar caches per (role, uri, action), not per session: runtimes share one role, so only
    role-wide answers are cacheable: the dashboard's, and the IDE's except publish (the IDs
    spoken for change with the principals file). A session without a principal (removed from
    the file since it joined) is refused, never cached. Audited control calls are never cached
    either: the authorizer reports each one (``audited_call``). Runtimes and the registry see
    which IDE called; every known caller is disclosed, because crossbar's router-to-router
    link fails a call to a plant runtime whose caller is not (router/sites.py).
    """
    role = principal.role if principal is not None else None
    cache = (role in ("dashboard", "registry")
             or (role in ("ide", "opcua") and action != "publish"
                 and audited_call(uri, action) is None))
    return {"allow": may(principal, uri, action, principals), "disclose": role is not None,
            "cache": cache}


def audited_call(uri: str, action: str) -> tuple | None:
    """(runtime ID, method) when ``action`` on ``uri`` is a control call for the audit trail."""
    name = split_name(uri)
    if action == "call" and name is not None and name[1] in AUDITED_METHODS:
        return name
    return None


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def write_principals(path, principals: dict) -> None:
    """Write a principals file readable by its owner only (it holds secrets)."""
    document = {"principals": principals}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(document, handle, sort_keys=False)
