"""The router's doors as rendered and decided (pure): origins, the anonymous gate's answers,
the TLS policy in the node config, and the command line's refusals."""
import subprocess
import sys

import pytest
from autobahn.wamp.exception import ApplicationError

from harness import ROOT
from router import anonymous, origins, tls_policy
from router.node_config import RouterSettings, render


def test_an_operators_origin_is_normalized_to_what_autobahn_compares():
    assert origins.normalize("https://hmi.plant.example") == "https://hmi.plant.example:443"
    assert origins.normalize("http://HMI:8080/") == "http://hmi:8080"
    assert origins.normalize("https://*.plant.example") == "https://*.plant.example:443"
    assert origins.normalize("https://[fd00::5]:8080") == "https://fd00::5:8080"


@pytest.mark.parametrize("text, says", [
    ("hmi.plant.example", "is not an origin"), ("ftp://hmi", "is not an origin"),
    ("https://hmi/path", "no path"), ("https://*", "every site"), ("https://*.*", "every site"),
    ("https://hmi:port", "not a number")])
def test_a_wrong_origin_says_what_to_give(text, says):
    with pytest.raises(origins.OriginError, match=says):
        origins.normalize(text)


def test_the_dashboards_own_origins_follow_the_bind_address():
    assert origins.dashboard_origins("127.0.0.1", 8080, False) == [
        "http://127.0.0.1:8080", "http://localhost:8080"]
    assert origins.dashboard_origins("10.1.2.3", 8443, True) == ["https://10.1.2.3:8443"]
    everywhere = origins.dashboard_origins("0.0.0.0", 8080, True)
    assert {"https://localhost:8080", "https://127.0.0.1:8080"} <= set(everywhere)
    assert not [origin for origin in everywhere if "0.0.0.0" in origin]


def transport(peer, **headers):
    return {"peer": peer, "http_headers_received": headers or None}


def test_anonymous_clients_are_admitted_only_from_the_given_networks():
    allowed = anonymous.networks(["10.1.2.0/24", "192.168.7.9"])
    assert anonymous.admit(allowed, "ide", transport("tcp4:10.1.2.7:50000")) == {
        "role": "ide", "authid": "anonymous@10.1.2.7"}
    assert anonymous.admit(allowed, "ide", transport("tcp6:::ffff:192.168.7.9:1"))["authid"] \
        == "anonymous@192.168.7.9"
    for peer in ("tcp4:10.1.3.7:50000", "tcp4:127.0.0.1:1", "unix", None):
        with pytest.raises(ApplicationError) as refused:
            anonymous.admit(allowed, "ide", transport(peer))
        assert refused.value.error == "wamp.error.not_authorized"
        assert "--anonymous-from" in refused.value.args[0]


def test_without_networks_anonymous_means_this_machine_only():
    loopback = anonymous.networks([])
    assert anonymous.admit(loopback, "dashboard", transport("tcp6:::1:4"))["role"] == "dashboard"
    assert anonymous.admit(loopback, "ide", transport("tcp4:127.0.0.2:4"))["role"] == "ide"
    with pytest.raises(ApplicationError):
        anonymous.admit(loopback, "ide", transport("tcp4:10.0.0.1:4"))


def test_a_web_page_is_never_anonymous():
    with pytest.raises(ApplicationError, match="web pages"):
        anonymous.admit(anonymous.networks([]), "ide",
                        transport("tcp4:127.0.0.1:5", origin="http://127.0.0.1:8080"))


def test_a_wrong_network_says_what_to_give():
    with pytest.raises(anonymous.AnonymousError, match="10.1.2.0/24"):
        anonymous.networks(["10.1.2.0/33"])


def test_audit_addresses_come_from_the_transport():
    assert anonymous.peer_address({"peer": "tcp4:10.1.2.7:51234"}) == "10.1.2.7"
    assert anonymous.peer_address({"peer": "tcp6:fd00::1:51234"}) == "fd00::1"
    assert anonymous.peer_address({"type": "stdio"}) is None
    assert anonymous.peer_address(None) is None


def settings(**overrides):
    return RouterSettings(principals="p.yaml", tls_cert="c.pem", tls_key="k.pem",
                          web_tls=True, **overrides)


def websocket_options(config):
    worker = config["workers"][0]
    for item in worker["transports"]:
        if item["type"] == "websocket":
            yield item["id"], item["options"]
        elif item["type"] == "web":
            yield "web /ws", item["paths"]["ws"]["options"]


def test_every_websocket_endpoint_checks_origins_and_hides_its_version():
    config = render(settings(allowed_origins=("https://hmi.plant.example",)))
    seen = dict(websocket_options(config))
    assert set(seen) == {"websocket", "websocket_tls", "web /ws"}
    for options in seen.values():
        assert options["allowed_origins"] == [
            "https://127.0.0.1:8080", "https://localhost:8080", "https://hmi.plant.example:443"]
        assert options["allow_null_origin"] is False
        assert options["show_server_version"] is False and options["enable_webstatus"] is False


def test_the_dashboard_is_served_by_our_root_with_hsts_only_over_https():
    web = [t for t in render(settings())["workers"][0]["transports"] if t["type"] == "web"][0]
    assert web["paths"]["/"]["classname"] == "router.dashboard_root.DashboardRoot"
    assert web["options"]["hsts"] is True
    plain = render(RouterSettings(principals="p.yaml"))["workers"][0]["transports"]
    assert [t for t in plain if t["type"] == "web"][0]["options"]["hsts"] is False


def test_anonymous_access_goes_through_the_gate_and_only_when_asked():
    closed = render(settings())["workers"][0]
    assert all("anonymous" not in t.get("auth", t.get("paths", {}).get("ws", {}).get("auth", {}))
               for t in closed["transports"])
    assert [c["classname"] for c in closed["components"]] == ["router.auth.AuthorizerSession"]
    opened = render(settings(anonymous_role="ide", anonymous_from=("10.1.2.0/24",)))["workers"][0]
    assert opened["transports"][0]["auth"]["anonymous"] == {
        "type": "dynamic", "authenticator": anonymous.AUTHENTICATE_PROCEDURE}
    gate = opened["components"][-1]
    assert gate["classname"] == "router.anonymous.AnonymousGate"
    assert gate["extra"] == {"role": "ide", "networks": ["10.1.2.0/24"]}
    assert anonymous.GATE_ROLE in [role["name"] for role in opened["realms"][0]["roles"]]


@pytest.mark.parametrize("minimum, ciphers", [("1.2", tls_policy.TLS12_CIPHERS), ("1.3", None)])
def test_every_tls_endpoint_gets_the_policy(minimum, ciphers):
    worker = render(settings(tls_min_version=minimum))["workers"][0]
    tls = [t["endpoint"]["tls"] for t in worker["transports"] if "tls" in t["endpoint"]]
    assert len(tls) == 2   # wss and the https dashboard
    assert all(entry.get("ciphers") == ciphers for entry in tls)
    for suite in tls_policy.TLS12_CIPHERS.split(":"):
        assert suite.startswith("ECDHE-") and ("-GCM-" in suite or "CHACHA20-POLY1305" in suite)


@pytest.mark.parametrize("option, says", [
    (("--anonymous-role", "ide", "--anonymous-from", "somewhere"), "not an address or network"),
    (("--allowed-origin", "*"), "is not an origin"),
    (("--tls-min-version", "1.1"), "invalid choice")])
def test_the_command_line_refuses_bad_doors_with_exit_2(tmp_path, option, says):
    principals = tmp_path / "principals.yaml"
    principals.write_text("principals: {}\n")
    done = subprocess.run([sys.executable, "-m", "plclink.cli", "router", "--state-dir",
                           str(tmp_path), "--principals", str(principals), "--ws-port", "0",
                           "--rawsocket-port", "0", "--web-port", "0", *option],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and says in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
