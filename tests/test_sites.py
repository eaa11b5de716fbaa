"""Sites (router/sites.py): principals with role site, the uniqueness check, the rlink config,
node keys (pure); a plant router linked to HQ on loopback (real routers)."""
import os

import pytest

from router import sites
from router.node_config import RouterSettings, render
from router.principals import (PrincipalsError, cryptosign_answer, parse_principals)

PUBKEY = "ab" * 32


def _parse(principals):
    return parse_principals({"principals": principals})


def test_site_principal_carries_ids_and_logs_in_with_its_node_key():
    known = _parse({"plant-a": {"role": "site", "pubkey": PUBKEY, "carries": ["a-*", "x-07"]}})
    assert known["plant-a"].carries == ("a-*", "x-07")
    assert cryptosign_answer(known["plant-a"], "plant-a") == {"pubkey": PUBKEY, "role": "site"}
    with pytest.raises(PrincipalsError, match="no site 'plant-b'"):
        cryptosign_answer(None, "plant-b")


@pytest.mark.parametrize("entry, message", [
    ({"role": "site", "carries": ["a-*"]}, "a site needs 'pubkey'"),
    ({"role": "site", "pubkey": "zz", "carries": ["a-*"]}, "Ed25519 public key in hex"),
    ({"role": "site", "pubkey": PUBKEY}, "a site needs 'carries'"),
    ({"role": "site", "pubkey": PUBKEY, "carries": ["a-?1"]}, "one '\\*' at the end"),
    ({"role": "site", "pubkey": PUBKEY, "carries": ["*"]}, "one '\\*' at the end"),
])
def test_site_principal_mistakes_are_named(entry, message):
    with pytest.raises(PrincipalsError, match=message):
        _parse({"plant-a": entry})


@pytest.mark.parametrize("other, clash", [
    ({"role": "site", "pubkey": PUBKEY, "carries": ["a-1*"]}, True),    # prefix inside prefix
    ({"role": "site", "pubkey": PUBKEY, "carries": ["a-07"]}, True),    # ID under a prefix
    ({"role": "site", "pubkey": PUBKEY, "carries": ["b-*", "ab-1"]}, False),
    ({"role": "runtime", "secret": "s"}, True),                          # HQ's own a-09
    ({"role": "bridge", "secret": "s", "carries": ["a*"]}, True),
    ({"role": "bridge", "secret": "s", "carries": ["erpc-*"]}, False),
])
def test_runtime_ids_are_unique_fleet_wide(other, clash):
    principals = {"plant-a": {"role": "site", "pubkey": PUBKEY, "carries": ["a-*"]},
                  "a-09" if other["role"] == "runtime" else "other": other}
    if clash:
        with pytest.raises(PrincipalsError, match="unique fleet-wide"):
            _parse(principals)
    else:
        _parse(principals)


def test_node_key_files_are_crossbar_key_files(tmp_path):
    from crossbar.common.key import _maybe_generate_node_key
    path, public = sites.generate_node_key(str(tmp_path), "plant-a")
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert (tmp_path / "node.pub").read_text().strip() == public == sites.read_node_key(path)
    assert sites.generate_node_key(str(tmp_path))[1] == public       # kept, not replaced
    node_dir = tmp_path / "node"
    node_dir.mkdir()
    (node_dir / "key.priv").write_text(open(path).read())
    _maybe_generate_node_key(str(node_dir))                           # crossbar accepts it
    assert f"public-key-ed25519: {public}" in (node_dir / "key.pub").read_text()
    (tmp_path / "bad.key").write_text("nothing\n")
    with pytest.raises(sites.SiteError, match="plclink secrets --node-key"):
        sites.read_node_key(str(tmp_path / "bad.key"))


def test_plant_config_links_to_hq_one_way():
    config = render(RouterSettings(principals="p.yaml", site="plant-a",
                                   uplink="ws://hq.example:8888"))
    (link,) = config["workers"][0]["realms"][0]["rlinks"]
    assert link["authid"] == "plant-a" and link["realm"] == "Automation"
    assert link["transport"]["endpoint"] == {"type": "tcp", "host": "hq.example", "port": 8888,
                                             "timeout": 10}
    # plant procedures are registered at HQ, plant events reach HQ's subscribers, not back
    assert (link["forward_local_invocations"], link["forward_remote_invocations"],
            link["forward_local_events"], link["forward_remote_events"]) == (True, False,
                                                                           False, True)
    assert "rlinks" not in render(RouterSettings(principals="p.yaml"))["workers"][0]["realms"][0]
    secure = sites.uplink_transport("wss://hq:8443", "ca.pem")["endpoint"]["tls"]
    assert secure == {"hostname": "hq", "ca_certificates": [os.path.abspath("ca.pem")]}
    with pytest.raises(sites.SiteError, match="ws://HOST:PORT"):
        sites.uplink_transport("tcp://hq:8888")


def test_every_transport_accepts_sites_by_cryptosign():
    config = render(RouterSettings(principals="p.yaml"))
    for transport in config["workers"][0]["transports"]:
        auth = transport.get("auth") or transport["paths"]["ws"]["auth"]
        assert auth["cryptosign"]["create"] == "router.auth.create_cryptosign_authenticator"


def test_plant_router_needs_its_site_name_and_node_key(tmp_path):
    from router.launcher import RouterStartError, write_node_config
    principals = tmp_path / "principals.yaml"
    principals.write_text("principals: {ide: {role: ide, secret: s}}\n")
    settings = dict(principals=str(principals), uplink="ws://hq:8888")
    with pytest.raises(RouterStartError, match="--uplink needs --site NAME"):
        write_node_config(RouterSettings(**settings), str(tmp_path / "node"))
    with pytest.raises(RouterStartError, match="plclink secrets --node-key"):
        write_node_config(RouterSettings(**settings, site="plant-a",
                                         node_key=str(tmp_path / "none.key")),
                          str(tmp_path / "node"))
    key, public = sites.generate_node_key(str(tmp_path), "plant-a")
    write_node_config(RouterSettings(**settings, site="plant-a", node_key=key),
                      str(tmp_path / "node"))
    assert sites.read_node_key(str(tmp_path / "node" / "key.priv")) == public


def test_tables_group_runtimes_by_site():
    from ide_component.cli_output import fleet_status_table
    from ide_component.fleet import Outcome
    from ide_component.plc_client import PLCState
    from plc_protocol.status import PLCStatus
    state = PLCState(PLCStatus.STARTED, (0, 0, 0, 0))
    outcomes = [Outcome(plc_id, state) for plc_id in ("b-01", "a-01", "plc-01", "a-02")]
    lines = fleet_status_table(outcomes, {"a-01": "plant-a", "a-02": "plant-a",
                                          "b-01": "plant-b"}).splitlines()
    assert [line.split()[:2] for line in lines[1:]] == [
        ["(here)", "plc-01"], ["plant-a", "a-01"], ["plant-a", "a-02"], ["plant-b", "b-01"]]
    assert "SITE" not in fleet_status_table(outcomes, {})   # one router: no SITE column


@pytest.mark.slow
def test_plant_on_loopback_and_a_runtime_outside_carries_is_reported(tmp_path):
    """A plant router linked to HQ on 127.0.0.1: HQ calls its runtime; one whose ID the
    site's 'carries' does not name still works (never refused) and HQ's log says why not to."""
    from harness import BlockingClient, free_port
    from plclink import local_setup
    from plclink.processes import Child, plclink_command, stop_all
    plant, hq = str(tmp_path / "plant-a"), str(tmp_path / "hq")
    local_setup.ensure_principals(plant, ["a-01", "x-01"])
    sites.generate_node_key(plant, "plant-a")
    local_setup.ensure_principals(hq, [], linked_sites={"plant-a": ["a-*"]})
    ports = {name: free_port() for name in ("hq", "plant")}
    children = []

    def router(state, port, *extra):
        child = Child(state, plclink_command(
            "router", "--state-dir", state, "--ws-port", str(port), "--rawsocket-port",
            str(free_port()), "--web-port", str(free_port()), *extra), quiet=True)
        children.append(child)
        assert child.wait_for_line("router ready", 90), "".join(child.lines[-20:])
        return child

    try:
        hq_router = router(hq, ports["hq"])
        router(plant, ports["plant"], "--site", "plant-a", "--uplink",
               f"ws://127.0.0.1:{ports['hq']}")
        for plc_id in ("a-01", "x-01"):
            conf = local_setup.ensure_runtime_dir(plant, plc_id,
                                                  f"ws://127.0.0.1:{ports['plant']}", "Automation")
            child = Child(plc_id, plclink_command(
                "runtime", "--workdir", str(tmp_path / plc_id), "--wampconf",
                os.path.join(conf, "wampconf.json")), quiet=True)
            children.append(child)
            assert child.wait_for_line("joined realm", 60)
        client = BlockingClient(f"ws://127.0.0.1:{ports['hq']}", "Automation", {
            "authid": "ide", "secret": local_setup.principal_secret(hq, "ide")})
        try:
            from harness import wait_until
            from wan import answers
            wait_until(lambda: answers(client, "a-01") and answers(client, "x-01"), 60,
                       message="both plant runtimes callable at HQ")
        finally:
            client.close()
        assert hq_router.wait_for_line("site plant-a links runtime x-01, which its 'carries' "
                                       "does not name", 10)
        assert not any("a-01" in line for line in hq_router.lines)
    finally:
        stop_all(children)
