"""The router's doors with real clients (docs/security.md): browser origins on the WebSocket
endpoints, the anonymous door of the Beremiz IDE (allowed addresses only, never a web page,
audited with its address), the web resources' headers, and the TLS versions and ciphers
every TLS endpoint accepts.

127.0.0.1 and 127.0.0.2 stand for two hosts: the router admits anonymous clients from
127.0.0.1/32 only.
"""
import base64
import builtins
import http.client
import importlib.util
import os
import socket
import ssl
import threading

import pytest

import beremiz_wamp_connector as connector
from harness import Router, next_event, wait_until
from ide_component import reactor_thread
from router import tls_policy

pytestmark = [pytest.mark.slow,
              # the old TLS versions are what the TLS tests offer; twisted.web.static's own
              pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")]
PLC_ID = "plc-06"


@pytest.fixture(scope="module")
def doors(tmp_path_factory):
    base = tmp_path_factory.mktemp("doors")
    router = Router(base / "state").start_with_tls(base / "tls", [
        "--web-tls", "--anonymous-role", "ide", "--anonymous-from", "127.0.0.1/32",
        "--allowed-origin", "https://hmi.plant.example"])
    router.dashboard_origin = f"https://127.0.0.1:{router.web_port}"
    yield router
    router.stop()


# --- origins ------------------------------------------------------------------------------------

def handshake(port, origin=None, tls=False, path="/"):
    """The status line the router answers a WebSocket handshake with."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    if tls:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        sock = context.wrap_socket(sock)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: wamp.2.json\r\n")
    if origin is not None:
        request += f"Origin: {origin}\r\n"
    with sock:
        sock.sendall((request + "\r\n").encode())
        answer = b""
        while b"\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    return answer.decode("latin-1").split("\r\n")[0]


@pytest.mark.parametrize("endpoint", ["ws", "wss", "dashboard"])
def test_a_foreign_origin_is_refused_in_the_handshake(doors, endpoint):
    port, tls, path = {"ws": (doors.ws_port, False, "/"), "wss": (doors.tls_port, True, "/"),
                       "dashboard": (doors.web_port, True, "/ws")}[endpoint]
    for origin in ("https://evil.example", "null", f"http://127.0.0.1:{doors.web_port}"):
        line = handshake(port, origin, tls, path)
        assert line.startswith("HTTP/1.1 400") and "not allowed" in line, (origin, line)
    for origin in (None, doors.dashboard_origin, f"https://localhost:{doors.web_port}",
                   "https://hmi.plant.example"):
        assert handshake(port, origin, tls, path).startswith("HTTP/1.1 101"), origin


# --- the anonymous door -------------------------------------------------------------------------

def test_the_router_says_once_what_anonymous_clients_may_do_and_from_where(doors):
    lines = [line for line in doors.child.lines if line.startswith("anonymous clients")]
    assert len(lines) == 1
    assert "from 127.0.0.1/32" in lines[0] and "role ide" in lines[0]
    assert "start, stop, transfer" in lines[0]


def test_the_beremiz_ide_joins_from_an_allowed_address_and_is_audited_with_it(doors, tmp_path):
    runtime = doors.start_runtime(PLC_ID, tmp_path / PLC_ID)
    registry = doors.client("registry")
    try:
        audit = registry.subscribe("plclink.audit")
        session, details = connector.join(doors.url, doors.realm, PLC_ID, source="127.0.0.1")
        assert (details.authrole, details.authmethod) == ("ide", "anonymous")
        assert details.authid == "anonymous@127.0.0.1"
        assert connector.call(session, f"{PLC_ID}.GetPLCstatus")[0] == "Stopped"
        connector.call(session, f"{PLC_ID}.StartPLC")
        _, event = next_event(audit, lambda args, kwargs: kwargs.get("method") == "StartPLC",
                              timeout=30)
        assert event["authid"] == "anonymous@127.0.0.1" and event["address"] == "127.0.0.1"
        assert event["id"] == PLC_ID and event["authrole"] == "ide"
        assert connector.call(session, f"{PLC_ID}.GetPLCstatus")[0] == "Started"
        connector.leave(session)
    finally:
        registry.close()
        runtime.stop()


@pytest.mark.skipif(not os.environ.get("BEREMIZ_SRC"),
                    reason="needs the upstream Beremiz tree: set BEREMIZ_SRC")
def test_the_upstream_beremiz_ide_connector_joins_from_an_allowed_address(doors, tmp_path):
    """Upstream's own connectors/WAMP module (loaded from BEREMIZ_SRC), as the IDE uses it."""
    path = os.path.join(os.environ["BEREMIZ_SRC"], "connectors", "WAMP", "__init__.py")
    spec = importlib.util.spec_from_file_location("beremiz_wamp_connector_upstream", path)
    upstream = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(upstream)
    if not hasattr(builtins, "_"):
        builtins._ = str   # the IDE installs gettext's _ as a builtin

    class Logger:
        def __init__(self):
            self.lines = []

        def write(self, text):
            self.lines.append(text)
        write_error = write

    class IDE:   # what the connector reads of the IDE's project controller
        logger = Logger()

        class AppFrame:
            @staticmethod
            def AddToDoBeforeQuit(function):
                pass

        def _SetConnector(self, connector):
            pass

    runtime = doors.start_runtime(PLC_ID, tmp_path / PLC_ID)
    try:
        reactor_thread.ensure_running()   # the IDE's reactor is already running: it joins there
        proxy = upstream.WAMP_connector_factory(
            f"WAMP://127.0.0.1:{doors.ws_port}#{doors.realm}#{PLC_ID}", IDE())
        assert proxy.GetPLCstatus()[0] == "Stopped", IDE.logger.lines
        assert reactor_thread.blocking(lambda: upstream._WampSession._authid) == \
            "anonymous@127.0.0.1"
        reactor_thread.blocking(upstream._WampConnection.disconnect)
    finally:
        runtime.stop()


def test_an_anonymous_join_from_another_address_is_refused(doors):
    with pytest.raises(connector.Refused) as refused:
        connector.join(doors.url, doors.realm, PLC_ID, source="127.0.0.2")
    reason, message = refused.value.args
    assert reason == "wamp.error.not_authorized"
    assert "127.0.0.2" in message and "--anonymous-from" in message
    wait_until(lambda: any("anonymous session from 127.0.0.2 refused" in line
                           for line in doors.child.lines), 30, message="the refusal logged")


def test_a_web_page_never_joins_anonymously_even_from_an_allowed_origin_and_address(doors):
    with pytest.raises(connector.Refused) as refused:
        connector.join(f"wss://127.0.0.1:{doors.tls_port}", doors.realm, PLC_ID,
                       origin=doors.dashboard_origin)
    reason, message = refused.value.args
    assert reason == "wamp.error.not_authorized" and "web pages" in message


# --- headers ------------------------------------------------------------------------------------

def https_get(doors, path, headers=None):
    context = ssl.create_default_context(cafile=doors.tls_paths["ca.pem"])
    connection = http.client.HTTPSConnection("127.0.0.1", doors.web_port, context=context,
                                             timeout=30)
    try:
        connection.request("GET", path, headers=headers or {})
        answer = connection.getresponse()
        answer.read()
        return answer.status, {name.lower(): value for name, value in answer.getheaders()}
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/", "/js/app.js", "/vendor/autobahn.min.js", "/missing",
                                  "/js/"])
def test_every_web_answer_carries_the_security_headers_and_no_cors(doors, path):
    status, headers = https_get(doors, path, {"Origin": "https://evil.example"})
    assert status == (200 if path in ("/", "/js/app.js", "/vendor/autobahn.min.js") else 404)
    policy = [part.strip() for part in headers["content-security-policy"].split(";")]
    assert {"script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} <= set(policy)
    assert not [part for part in policy if "unsafe" in part or "*" in part]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["strict-transport-security"].startswith("max-age=")
    assert not [name for name in headers if name.startswith("access-control-")]
    assert headers["server"] == "plclink"


# --- TLS ----------------------------------------------------------------------------------------

TLS_VERSIONS = {"1.0": ssl.TLSVersion.TLSv1, "1.1": ssl.TLSVersion.TLSv1_1,
                "1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}


def client_context(version, ciphers="ALL:@SECLEVEL=0"):
    """A client that offers exactly ``version`` (and, at security level 0, every cipher this
    OpenSSL has, so that a refusal is the server's)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.minimum_version = context.maximum_version = TLS_VERSIONS[version]
    context.set_ciphers(ciphers)
    return context


def negotiate(port, context):
    """(version, cipher) the server agreed to, or the handshake's error."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as raw:
        try:
            with context.wrap_socket(raw) as sock:
                return sock.version(), sock.cipher()[0]
        except (ssl.SSLError, ConnectionError) as error:
            return error


def test_the_old_tls_client_really_offers_tls_1_0_and_1_1(doors):
    """The control: the same client completes TLS 1.0 and 1.1 with a server that allows them,
    so the router's refusal below is the router's."""
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.minimum_version = ssl.TLSVersion.TLSv1
    server.set_ciphers("ALL:@SECLEVEL=0")
    server.load_cert_chain(doors.tls_paths["server.pem"], doors.tls_paths["server.key"])
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        for _ in range(2):
            conn, _ = listener.accept()
            try:
                server.wrap_socket(conn, server_side=True).close()
            except (ssl.SSLError, OSError):
                conn.close()
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        assert negotiate(port, client_context("1.0"))[0] == "TLSv1"
        assert negotiate(port, client_context("1.1"))[0] == "TLSv1.1"
    finally:
        thread.join(30)
        listener.close()


@pytest.mark.parametrize("endpoint", ["wss", "https"])
def test_tls_1_2_and_1_3_are_accepted_1_0_and_1_1_refused(doors, endpoint):
    port = doors.tls_port if endpoint == "wss" else doors.web_port
    for version in ("1.0", "1.1"):
        answer = negotiate(port, client_context(version))
        assert isinstance(answer, ssl.SSLError) and "PROTOCOL_VERSION" in str(answer).upper(), \
            (version, answer)
    assert negotiate(port, client_context("1.3"))[0] == "TLSv1.3"
    assert negotiate(port, client_context("1.2"))[0] == "TLSv1.2"


@pytest.mark.parametrize("endpoint", ["wss", "https"])
def test_tls_1_2_offers_only_the_stated_aead_forward_secret_ciphers(doors, endpoint):
    port = doors.tls_port if endpoint == "wss" else doors.web_port
    stated = set(tls_policy.TLS12_CIPHERS.split(":"))
    candidates = {cipher["name"] for cipher in client_context("1.2").get_ciphers()
                  if cipher["protocol"] == "TLSv1.2"}
    accepted = set()
    for name in sorted(candidates):
        answer = negotiate(port, client_context("1.2", f"{name}:@SECLEVEL=0"))
        if not isinstance(answer, Exception):
            accepted.add(answer[1])
    # the certificate is ECDSA (plclink certs): the RSA suites cannot be chosen with it
    assert accepted == {name for name in stated if "-ECDSA-" in name}
