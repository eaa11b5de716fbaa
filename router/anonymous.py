"""The anonymous door: clients with no identity (the Beremiz IDE's WAMP connector) admitted
only from the networks the operator names, never from a browser, as one named role.

Crossbar's static anonymous authentication admits anyone the port reaches, including a web
page's WebSocket; its dynamic one calls a procedure with the transport's details, which is
where the source address and the handshake's headers are known. ``AnonymousGate`` registers
that procedure; ``admit`` decides, from nothing but its arguments.

The authid of an admitted session carries its address (``anonymous@10.1.2.7``), so every
control call the authorizer audits names where it came from.
"""
import ipaddress

from autobahn.twisted.wamp import ApplicationSession
from autobahn.wamp.exception import ApplicationError

AUTHENTICATE_PROCEDURE = "plclink.anonymous.authenticate"
GATE_ROLE = "gatekeeper"
LOOPBACK = ("127.0.0.0/8", "::1/128")

# What each role an anonymous client may get lets it do (router/principals.py decides).
POWERS = {
    "ide": "read everything and call every runtime's procedures: start, stop, transfer "
           "programs, force and write variables",
    "dashboard": "read only: status, logs, traces, variables",
}


class AnonymousError(ValueError):
    pass


def networks(texts) -> tuple:
    """``--anonymous-from`` values (addresses or CIDR networks); none means loopback only."""
    result = []
    for text in texts or LOOPBACK:
        try:
            result.append(ipaddress.ip_network(text.strip(), strict=False))
        except ValueError:
            raise AnonymousError(f"--anonymous-from {text!r} is not an address or network: "
                                 "give e.g. 10.1.2.0/24 or 10.1.2.7") from None
    return tuple(result)


def peer_address(transport: dict | None) -> str | None:
    """The source address in crossbar's transport details (``peer`` 'tcp4:10.1.2.7:51234',
    'tcp6:::1:51234'); None for in-process sessions and unknown kinds."""
    peer = (transport or {}).get("peer") or ""
    kind, _, rest = peer.partition(":")
    if kind not in ("tcp4", "tcp6") or ":" not in rest:
        return None
    return rest.rpartition(":")[0]


def admit(allowed: tuple, role: str, transport: dict | None) -> dict:
    """The principal of an anonymous session, or ApplicationError if it may not have one."""
    address = peer_address(transport)
    headers = (transport or {}).get("http_headers_received") or {}
    if "origin" in headers:
        raise ApplicationError(
            "wamp.error.not_authorized",
            "anonymous access is not open to web pages: log in with a user and ticket")
    try:
        ip = ipaddress.ip_address(address) if address else None
    except ValueError:
        ip = None
    if ip is not None and ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip is None or not any(ip in network for network in allowed):
        raise ApplicationError(
            "wamp.error.not_authorized",
            f"anonymous access is not open to {address or 'this client'}: log in, or ask the "
            "router's operator to add this address to --anonymous-from")
    return {"role": role, "authid": f"anonymous@{ip}"}


def describe(role: str, allowed: tuple) -> str:
    """The router's one line at start on what anonymous clients may do, and from where."""
    places = ", ".join(str(network) for network in allowed)
    return (f"anonymous clients (no login, not web pages) from {places} are admitted as role "
            f"{role}: {POWERS.get(role, 'what that role may do')}")


def transport_auth() -> dict:
    """The transports' ``anonymous`` entry: ask the gate."""
    return {"type": "dynamic", "authenticator": AUTHENTICATE_PROCEDURE}


def gate(role: str, allowed: tuple, realm: str) -> tuple[dict, dict]:
    """The gate's role and component in the rendered node config."""
    gate_role = {"name": GATE_ROLE, "permissions": [
        {"uri": AUTHENTICATE_PROCEDURE, "match": "exact",
         "allow": {"call": False, "register": True, "publish": False, "subscribe": False},
         "cache": True}]}
    component = {"type": "class", "classname": f"{__name__}.AnonymousGate", "realm": realm,
                 "role": GATE_ROLE,
                 "extra": {"role": role, "networks": [str(n) for n in allowed]}}
    return gate_role, component


class AnonymousGate(ApplicationSession):
    """Crossbar's dynamic authenticator for anonymous sessions."""

    async def onJoin(self, details):
        role = self.config.extra["role"]
        allowed = networks(self.config.extra["networks"])

        def authenticate(realm, authid, session_details):
            transport = session_details.get("transport")
            try:
                return admit(allowed, role, transport)
            except ApplicationError as refusal:
                self.log.warn("anonymous session from {address} refused: {why}",
                              address=peer_address(transport) or "an unknown address",
                              why=refusal.args[0] if refusal.args else refusal.error)
                raise

        await self.register(authenticate, AUTHENTICATE_PROCEDURE)
