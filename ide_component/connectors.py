"""Choosing the connector from the URI (protocol.md §5), so callers never name a transport.

The eRPC and local connectors live in their own modules and are imported only when such a URI
is used: a WAMP-only user never loads them, and an installation without them still parses the
URI and says what is missing.
"""
from urllib.parse import urlsplit

from ide_component.failures import UnsupportedTransport
from plc_protocol.uris import ConnectionURI, URIError, parse_uri
from plc_protocol.wamp_conventions import DEFAULT_REALM, DEFAULT_URL

# How often a client that only listens to events makes one cheap call, to notice a lost link.
LINK_CHECK_INTERVAL = 5.0

_MODULES = {"ERPC": ("ide_component.erpc_connector", "ErpcConnector"),
            "ERPCS": ("ide_component.erpc_connector", "ErpcConnector"),
            "LOCAL": ("ide_component.local_connector", "LocalConnector")}


def connector_for(uri, *, credentials: dict | None = None, session=None, psk_store=None,
                  call_timeout: float | None = None):
    """An unconnected connector for ``uri`` (text or ConnectionURI).

    WAMP options (credentials, a shared session, call_timeout) are ignored by the other
    transports; psk_store only matters to ERPCS.
    """
    parsed = uri if isinstance(uri, ConnectionURI) else parse_uri(uri)
    if parsed.is_wamp:
        from ide_component.wamp_connector import DEFAULT_CALL_TIMEOUT, WampConnector
        return WampConnector(parsed, credentials=credentials, session=session,
                             call_timeout=call_timeout or DEFAULT_CALL_TIMEOUT)
    module_name, class_name = _MODULES[parsed.scheme]
    try:
        module = __import__(module_name, fromlist=[class_name])
    except ImportError as error:
        raise UnsupportedTransport(
            f"{parsed.scheme}:// connections need {module_name}, which cannot be imported "
            f"({error}); use a WAMP:// URI through the router instead") from None
    if parsed.scheme == "LOCAL":
        return getattr(module, class_name)(parsed)
    return getattr(module, class_name)(parsed, psk_store=psk_store)


def router_uri(router_url: str | None, realm: str | None, plc_id: str) -> ConnectionURI:
    """The WAMP URI of runtime ``plc_id`` behind a router given as a ws:// or wss:// URL."""
    return parse_uri(f"{_wamp_location(router_url or DEFAULT_URL)}#{realm or DEFAULT_REALM}#{plc_id}")


def check_router_url(router_url: str) -> str:
    _wamp_location(router_url)
    return router_url


def _wamp_location(url: str) -> str:
    parts = urlsplit(url)
    schemes = {"ws": ("WAMP", 80), "wss": ("WAMPS", 443)}
    try:
        scheme, default_port = schemes[parts.scheme]
        host, port = parts.hostname, parts.port or default_port
    except (KeyError, ValueError):
        host = None
    if not host:
        raise URIError(f"bad router address {url!r}: expected ws://host[:port][/path] "
                       "or wss://host[:port][/path]")
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}:{port}{parts.path}"
