"""Connection URIs, the IDE's "URI_location" (protocol.md §5).

Every connector, the bridge and the command line parse URIs here, so a URI means the same
thing everywhere and a mistyped one fails with the same message wherever it is entered.
The runtime-ID rule also lives here (:func:`validate_plc_id`) because the ID appears in URIs
first; runtime and bridge configuration import it rather than restating it.
"""
import ipaddress
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import NoReturn

# The form shown in every error, so the user sees what to type instead.
_FORMS = {
    "ERPC": "ERPC://host[:port]",
    "ERPCS": "ERPCS://host[:port]#ID",
    "LOCAL": "LOCAL://",
    "WAMP": "WAMP://host[:port][/path]#realm#ID",
    "WAMPS": "WAMPS://host[:port][/path]#realm#ID",
}
SCHEMES = tuple(_FORMS)

DEFAULT_PORTS = MappingProxyType({"ERPC": 3000, "ERPCS": 4000, "WAMP": 8888, "WAMPS": 443})

# No dots: the runtime registers its methods as the WAMP procedures "<ID>.<Method>".
_PLC_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_PLC_ID_RULE = ("an ID is 1 to 64 letters, digits, '_' or '-', starting with a letter or digit "
                "(no dots: it prefixes WAMP procedure names as <ID>.<Method>)")
_REALM = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_REALM_RULE = ("a realm is 1 to 128 letters, digits, '_', '.' or '-', "
               "starting with a letter, digit or '_'")
_HOST = re.compile(r"[A-Za-z0-9._-]+")
_HOST_RULE = "a host is letters, digits, '-', '.' and '_', or an IPv6 address in brackets"
# RFC 3986 path: segments of unreserved, sub-delims, ':', '@' or percent-escapes.
_PATH = re.compile(r"(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2})*)+")


class URIError(ValueError):
    """A connection URI or runtime ID that cannot be used; the message says which part."""


def _is_plc_id(text) -> bool:
    return isinstance(text, str) and _PLC_ID.fullmatch(text) is not None


def validate_plc_id(text) -> str:
    """Return ``text`` if it is a usable runtime ID, so callers can validate inline."""
    if not _is_plc_id(text):
        raise URIError(f"bad runtime ID {text!r}: {_PLC_ID_RULE}")
    return text


@dataclass(frozen=True)
class ConnectionURI:
    """A parsed URI; ``host`` holds an IPv6 address without brackets, ready for sockets."""
    scheme: str
    host: str
    port: int | None
    path: str = ""
    realm: str | None = None
    plc_id: str | None = None  # the runtime ID for WAMP(S), the PSK identity for ERPCS

    @property
    def is_wamp(self) -> bool:
        return self.scheme in ("WAMP", "WAMPS")

    @property
    def is_erpc(self) -> bool:
        return self.scheme in ("ERPC", "ERPCS")

    @property
    def websocket_url(self) -> str:
        """The router address for the WAMP client; the port is always explicit."""
        if not self.is_wamp:
            raise URIError(f"{str(self)!r} is not a WAMP URI, so it has no WebSocket URL")
        ws = "wss" if self.scheme == "WAMPS" else "ws"
        return f"{ws}://{self._bracketed_host}:{self.port}{self.path}"

    @property
    def _bracketed_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def __str__(self) -> str:
        if self.scheme == "LOCAL":
            return "LOCAL://"
        text = f"{self.scheme}://{self._bracketed_host}"
        if self.port != DEFAULT_PORTS[self.scheme]:
            text += f":{self.port}"
        text += self.path
        if self.realm is not None:
            text += f"#{self.realm}"
        if self.plc_id is not None:
            text += f"#{self.plc_id}"
        return text


def _fail(problem: str, uri: str, scheme: str, reason: str | None = None) -> NoReturn:
    form = _FORMS[scheme]
    if reason is None:
        raise URIError(f"{problem} in {uri!r}: expected {form}")
    raise URIError(f"{problem} in {uri!r}: {reason} (expected {form})")


def _parse_authority(authority: str, uri: str, scheme: str) -> tuple[str, int]:
    if authority.startswith("["):
        host, bracket, port_text = authority[1:].partition("]")
        if not (bracket and port_text[:1] in ("", ":") and _is_ipv6(host)):
            _fail(f"bad host {authority!r}", uri, scheme, _HOST_RULE)
        has_port, port_text = bool(port_text), port_text[1:]
    else:
        if authority.count(":") > 1:
            _fail(f"bad host {authority!r}", uri, scheme,
                  "an IPv6 address must be in brackets, e.g. [::1]")
        host, colon, port_text = authority.partition(":")
        has_port = bool(colon)
        if not host:
            _fail("missing host", uri, scheme)
        if not _HOST.fullmatch(host):
            _fail(f"bad host {host!r}", uri, scheme, _HOST_RULE)
    if not has_port:
        return host, DEFAULT_PORTS[scheme]
    # isascii: str.isdigit also accepts non-ASCII digits, which int() would then convert.
    if not (port_text.isascii() and port_text.isdigit() and 1 <= int(port_text) <= 65535):
        _fail(f"bad port {port_text!r}", uri, scheme,
              "the port must be a number from 1 to 65535")
    return host, int(port_text)


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _check_plc_id(plc_id: str, what: str, uri: str, scheme: str) -> None:
    if not plc_id:
        _fail(f"missing {what}", uri, scheme)
    if not _is_plc_id(plc_id):
        _fail(f"bad {what} {plc_id!r}", uri, scheme, _PLC_ID_RULE)


def parse_uri(text: str) -> ConnectionURI:
    """Strict on purpose: a mistyped URI must fail here, naming the wrong part, rather than
    later as a connection that hangs or reaches the wrong runtime."""
    uri = text.strip()
    scheme_text, separator, rest = uri.partition("://")
    if not separator:
        raise URIError(f"no scheme in {uri!r}: expected SCHEME://..., "
                       f"with SCHEME one of {', '.join(SCHEMES)}")
    # ASCII only: str.upper() maps some non-ASCII letters to ASCII ones ('ſ' -> 'S').
    scheme = scheme_text.upper() if scheme_text.isascii() else scheme_text
    if scheme not in _FORMS:
        raise URIError(f"unknown scheme {scheme_text!r} in {uri!r}: "
                       f"use one of {', '.join(SCHEMES)}")
    if scheme == "LOCAL":
        if rest:
            _fail(f"unexpected {rest!r} after 'LOCAL://'", uri, scheme,
                  "a local runtime takes no address")
        return ConnectionURI("LOCAL", "", None)

    location, *fragments = rest.split("#")
    if "?" in location:
        query = location[location.index("?"):]
        _fail(f"query string {query!r}", uri, scheme, "a connection URI takes no query")
    slash = location.find("/")
    authority, path = (location, "") if slash < 0 else (location[:slash], location[slash:])
    host, port = _parse_authority(authority, uri, scheme)
    if path and scheme not in ("WAMP", "WAMPS"):
        _fail(f"unexpected path {path!r}", uri, scheme)
    if path and not _PATH.fullmatch(path):
        _fail(f"bad path {path!r}", uri, scheme,
              "a path is '/'-separated segments of URL characters, without spaces")

    if scheme == "ERPC":
        if fragments:
            _fail(f"unexpected {'#' + '#'.join(fragments)!r}", uri, scheme,
                  "plain eRPC takes no ID; use ERPCS://host#ID for TLS-PSK")
        return ConnectionURI(scheme, host, port)

    if not fragments and scheme != "ERPCS":
        _fail("missing realm and runtime ID", uri, scheme)
    expected = 1 if scheme == "ERPCS" else 2
    if len(fragments) > expected:
        last_part = "PSK identity" if scheme == "ERPCS" else "runtime ID"
        _fail(f"unexpected {'#' + '#'.join(fragments[expected:])!r} after the {last_part}",
              uri, scheme)
    fragments += [""] * (expected - len(fragments))

    if scheme == "ERPCS":
        _check_plc_id(fragments[0], "PSK identity", uri, scheme)
        return ConnectionURI(scheme, host, port, plc_id=fragments[0])

    realm, plc_id = fragments
    if not realm:
        _fail("missing realm", uri, scheme)
    if not _REALM.fullmatch(realm):
        _fail(f"bad realm {realm!r}", uri, scheme, _REALM_RULE)
    _check_plc_id(plc_id, "runtime ID", uri, scheme)
    return ConnectionURI(scheme, host, port, path, realm, plc_id)
