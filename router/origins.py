"""Which web pages may open a WebSocket to the router (cross-site WebSocket hijacking).

A browser sends the page's Origin with every WebSocket handshake; a page on another site must
not drive the plant with the browser's network position. Crossbar's WebSocket options
(``allowed_origins``, ``allow_null_origin``) refuse a foreign Origin in the handshake, before
any WAMP message. Clients that are not browsers (the Beremiz IDE's connector, our CLI,
runtimes, bridges, registry: autobahn's clients send no Origin) are not affected.

The list is fixed at start rather than compared with the request's Host header: a
same-Host rule would admit a DNS-rebinding page, whose Origin and Host are both the
attacker's name.
"""
import socket
from urllib.parse import urlsplit

_WILDCARD_HOSTS = ("", "0.0.0.0", "::")
_DEFAULT_PORTS = {"http": 80, "https": 443}


class OriginError(ValueError):
    pass


def normalize(url: str) -> str:
    """An operator's ``--allowed-origin`` in the form autobahn compares with: scheme, host
    and an explicit port (``https://hmi.plant.example`` -> ``https://hmi.plant.example:443``).
    ``*`` may stand for part of the host name (``https://*.plant.example``)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise OriginError(f"--allowed-origin {url!r} is not an origin: give the address a "
                          "browser shows for the page, e.g. https://hmi.plant.example:8080")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise OriginError(f"--allowed-origin {url!r}: an origin is scheme, host and port "
                          "only, with no path")
    if parts.hostname.strip("*.") == "":
        raise OriginError(f"--allowed-origin {url!r} would admit every site: name the hosts")
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise OriginError(f"--allowed-origin {url!r}: the port is not a number") from None
    return f"{parts.scheme}://{parts.hostname}:{port}"


def dashboard_origins(host: str, web_port: int, https: bool) -> list[str]:
    """The origins the router's own dashboard is reached at without configuration: the bind
    address, and on a loopback or all-interfaces bind also localhost and this machine's
    host name. Other names (a DNS alias, a port published by docker) need ``--allowed-origin``."""
    if host in _WILDCARD_HOSTS:
        # gethostname, not getfqdn: no DNS lookup (which may hang on an isolated network)
        names = ["localhost", "127.0.0.1", "::1", socket.gethostname()]
    elif host.startswith("127.") or host in ("localhost", "::1"):
        names = [host, "localhost"]
    else:
        names = [host]
    scheme = "https" if https else "http"
    unique = dict.fromkeys(name.lower() for name in names if name)
    return [f"{scheme}://{name}:{web_port}" for name in unique]


def websocket_options(allowed: list[str]) -> dict:
    """Crossbar WebSocket options: browsers only from ``allowed``, never the ``null`` origin
    (sandboxed frames, files), and no version or status page for whoever asks."""
    return {"allowed_origins": list(allowed), "allow_null_origin": False,
            "show_server_version": False, "enable_webstatus": False}
