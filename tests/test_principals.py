"""Who may do what on the router, and the principals file's error messages (pure)."""
import os

import pytest

from router.node_config import RouterSettings, render
from router.principals import (Principal, PrincipalsError, PrincipalsFile, authorization, may,
                               parse_principals, ticket_answer, wampcra_answer, write_principals)

RUNTIME = Principal("plc-01", "runtime", secret="s")
BRIDGE = Principal("bridge", "bridge", secret="s", carries=("erpc-*", "plc-07"))
DASHBOARD = Principal("viewer", "dashboard", ticket="t")
IDE = Principal("operator", "ide", ticket="t")
REGISTRY = Principal("registry", "registry", secret="s")
PLCLINK_RUNTIME = Principal("plclink", "runtime", secret="s")   # an ID spelled like the prefix
EVERYONE = (RUNTIME, BRIDGE, DASHBOARD, IDE, REGISTRY)


@pytest.mark.parametrize("principal, uri, action, allowed", [
    (RUNTIME, "plc-01.GetPLCstatus", "register", True),
    (RUNTIME, "plc-01.status", "publish", True),
    (RUNTIME, "plc-02.GetPLCstatus", "register", False),
    (RUNTIME, "plc-02.status", "publish", False),
    (RUNTIME, "plc-01x.status", "publish", False),
    (RUNTIME, "plc-01.a.b", "register", False),
    (RUNTIME, "wamp.session.add_testament", "call", True),
    (RUNTIME, "plc-02.StopPLC", "call", False),
    (BRIDGE, "erpc-07.GetPLCstatus", "register", True),
    (BRIDGE, "plc-07.status", "publish", True),
    (BRIDGE, "plc-01.GetPLCstatus", "register", False),
    (DASHBOARD, "plc-01.GetPLCstatus", "call", True),
    (DASHBOARD, "plc-01.GetLogMessage", "call", True),
    (DASHBOARD, "plc-01.StartPLC", "call", False),
    (DASHBOARD, "plc-01.GetPLCID", "call", False),
    (DASHBOARD, "plc-01.SetTraceVariablesList", "call", False),
    (DASHBOARD, "plc-01.status", "subscribe", True),
    (DASHBOARD, "wamp.session.on_join", "subscribe", True),
    (DASHBOARD, "wamp.session.kill", "call", False),
    (DASHBOARD, "wamp.registration.list", "call", True),
    (DASHBOARD, "plc-01.status", "publish", False),
    (None, "plc-01.status", "subscribe", False),
    (IDE, "plc-01.StopPLC", "call", True),
    (IDE, "wamp.session.kill", "call", True),
    (IDE, "plc-01.status", "subscribe", True),
    (IDE, "plc-01.GetPLCstatus", "register", False),
    (IDE, "plc-01.status", "publish", False),        # a runtime principal's events
    (IDE, "plc-01.custom", "publish", False),        # ... and anything under its prefix
    (IDE, "erpc-42.log", "publish", False),          # carried by the bridge
    (IDE, "erpc-42.note", "publish", False),
    (IDE, "plc-07.anything", "publish", False),
    (IDE, "beremiz-1.status", "publish", False),     # no principal: still a runtime event
    (IDE, "beremiz-1.log", "publish", False),
    (IDE, "beremiz-1.trace", "publish", False),
    (IDE, "beremiz-1.values", "publish", False),
    (IDE, "beremiz-1.scan", "publish", False),
    (IDE, "beremiz-1.note", "publish", True),
    # scan health (docs/force-model.md): the runtime's own, read by dashboards
    (RUNTIME, "plc-01.scan", "publish", True),
    (RUNTIME, "plc-02.scan", "publish", False),
    (BRIDGE, "plc-07.scan", "publish", True),
    (DASHBOARD, "plc-01.scan", "subscribe", True),
    (DASHBOARD, "plc-01.scan", "publish", False),
    (IDE, "site.announcements", "publish", True),
    (IDE, "chat", "publish", True),
    # the registry hears everything, calls only reading methods, owns plclink.registry.*
    (REGISTRY, "plc-01.status", "subscribe", True),
    (REGISTRY, "plclink.audit", "subscribe", True),
    (REGISTRY, "plc-01.GetPLCstatus", "call", True),
    (REGISTRY, "plc-01.ExtendedCall", "call", True),
    (REGISTRY, "wamp.subscription.list", "call", True),
    (REGISTRY, "plc-01.StartPLC", "call", False),
    (REGISTRY, "plc-01.NewPLC", "call", False),
    (REGISTRY, "wamp.session.kill", "call", False),
    (REGISTRY, "plclink.registry.runtimes", "register", True),
    (REGISTRY, "plclink.registry.ack", "register", True),
    (REGISTRY, "plclink.registry.nothing", "register", False),
    (REGISTRY, "plclink.authorize", "register", False),
    (REGISTRY, "plc-01.GetPLCstatus", "register", False),
    (REGISTRY, "plclink.registry.on_alarm", "publish", True),
    (REGISTRY, "plclink.audit", "publish", False),
    (REGISTRY, "plc-01.status", "publish", False),
    # nobody else speaks under plclink.: not an IDE, not a runtime that happens to be "plclink"
    (IDE, "plclink.audit", "publish", False),
    (IDE, "plclink.registry.on_alarm", "publish", False),
    (IDE, "plclink.registry.ack", "call", True),
    (PLCLINK_RUNTIME, "plclink.audit", "publish", False),
    (PLCLINK_RUNTIME, "plclink.status", "publish", False),
    (DASHBOARD, "plclink.registry.trend", "call", True),
    (DASHBOARD, "plclink.registry.on_alarm", "subscribe", True),
    (DASHBOARD, "plclink.registry.ack", "call", False),
    (DASHBOARD, "plclink.registry.store_program", "call", False),
])
def test_may(principal, uri, action, allowed):
    assert may(principal, uri, action, EVERYONE) is allowed


def test_only_role_wide_answers_are_cached():
    assert authorization(IDE, "plc-01.GetPLCstatus", "call", EVERYONE) == \
        {"allow": True, "disclose": True, "cache": True}
    # the authorizer must see every control call to report it for the audit trail
    assert authorization(IDE, "plc-01.StopPLC", "call", EVERYONE) == \
        {"allow": True, "disclose": True, "cache": False}
    assert authorization(IDE, "plc-01.AppendChunkToBlob", "call", EVERYONE)["cache"] is True
    assert authorization(REGISTRY, "plc-01.status", "subscribe", EVERYONE)["cache"] is True
    # which IDs are spoken for changes with the principals file
    assert authorization(IDE, "site.news", "publish", EVERYONE)["cache"] is False
    assert authorization(RUNTIME, "plc-01.status", "publish", EVERYONE)["cache"] is False
    assert authorization(DASHBOARD, "plc-01.StopPLC", "call", EVERYONE)["cache"] is True
    # crossbar's router-to-router link fails a call whose caller is not disclosed
    assert authorization(DASHBOARD, "p1-01.GetPLCstatus", "call", EVERYONE)["disclose"] is True
    assert authorization(REGISTRY, "p1-01.GetPLCstatus", "call", EVERYONE)["disclose"] is True
    assert authorization(None, "plc-01.StopPLC", "call", EVERYONE) == \
        {"allow": False, "disclose": False, "cache": False}


def test_credentials_from_file_and_env(tmp_path, monkeypatch):
    (tmp_path / "plc.secret").write_text("plc-01:from-file\n")
    monkeypatch.setenv("VIEWER_TICKET", "from-env")
    principals = parse_principals({"principals": {
        "plc-01": {"role": "runtime", "secret_file": "plc.secret"},
        "viewer": {"role": "dashboard", "ticket_env": "VIEWER_TICKET"},
    }}, str(tmp_path))
    assert wampcra_answer(principals["plc-01"], "plc-01") == {"secret": "from-file", "role": "runtime"}
    assert ticket_answer(principals["viewer"], "viewer", "from-env") == {"role": "dashboard"}
    with pytest.raises(PrincipalsError):
        ticket_answer(principals["viewer"], "viewer", "wrong")
    with pytest.raises(PrincipalsError):
        wampcra_answer(None, "nobody")


@pytest.mark.parametrize("document, message", [
    ({}, "mapping 'principals"),
    ({"principals": {"x": {"role": "king", "secret": "s"}}}, "role 'king'"),
    ({"principals": {"plc.1": {"role": "runtime", "secret": "s"}}}, "bad runtime ID"),
    ({"principals": {"b": {"role": "bridge", "secret": "s"}}}, "needs 'carries'"),
    ({"principals": {"x": {"role": "ide"}}}, "give a secret"),
    ({"principals": {"x": {"role": "ide", "secret": "a", "secret_env": "B"}}}, "only one of"),
    ({"principals": {"x": {"role": "ide", "secret_env": "PLCLINK_UNSET_VAR"}}}, "is not set"),
])
def test_principals_file_errors_name_the_problem(document, message):
    with pytest.raises(PrincipalsError, match=message):
        parse_principals(document)


def test_principals_file_is_reread_after_change(tmp_path):
    path = str(tmp_path / "principals.yaml")
    write_principals(path, {"ide": {"role": "ide", "secret": "one"}})
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    principals = PrincipalsFile(path)
    assert principals.get("ide").secret == "one"
    write_principals(path, {"ide": {"role": "ide", "secret": "rotated-secret"}})
    assert principals.get("ide").secret == "rotated-secret"


def test_rendered_config_has_no_secret_and_dev_switch(tmp_path):
    path = str(tmp_path / "principals.yaml")
    write_principals(path, {"ide": {"role": "ide", "secret": "TOPSECRET"}})
    config = render(RouterSettings(principals=path, websocket_port=1234))
    assert "TOPSECRET" not in repr(config)
    transports = config["workers"][0]["transports"]
    assert transports[0]["endpoint"] == {"type": "tcp", "port": 1234, "interface": "127.0.0.1"}
    assert all("anonymous" not in t.get("auth", {}) for t in transports)
    assert all(t["id"] != "websocket_tls" for t in transports)
    dev = render(RouterSettings(principals=path, dev=True, tls_cert="c.pem", tls_key="k.pem"))
    assert "anonymous" in dev["workers"][0]["transports"][0]["auth"]
    tls = [t for t in dev["workers"][0]["transports"] if t["id"] == "websocket_tls"][0]
    assert tls["endpoint"]["tls"]["certificate"] == os.path.abspath("c.pem")
