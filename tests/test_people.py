"""People on the router: each role's rights, scopes, accounts changed while the router runs,
login throttling, sessions, the audit journal. The rules first (pure), then a real router."""
import json
import os
import time

import pytest
from autobahn.wamp.exception import ApplicationError

from harness import Router, wait_until
from ide_component import reactor_thread
from login_client import Refused, leave, login
from plclink.users_command import add_person
from router import audit_journal, audit_meaning
from router.login_guard import address_of
from router.login_throttle import LoginThrottle, ThrottlePolicy
from router.people import Person, hash_password
from router.person_rights import person_may, required_role

PASSWORD = "correct horse battery"
# (uri, least role): reading, operating, engineering, administering
ACTIONS = [
    ("plc-01.GetPLCstatus", "viewer"),
    ("plc-01.GetLogMessage", "viewer"),
    ("plclink.registry.runtimes", "viewer"),
    ("plclink.audit.query", "viewer"),
    ("wamp.session.list", "viewer"),
    ("plc-01.StartPLC", "operator"),
    ("plc-01.StopPLC", "operator"),
    ("plc-01.Force", "operator"),
    ("plc-01.Release", "operator"),
    ("plc-01.Write", "operator"),
    ("plc-01.RestartPLC", "operator"),
    ("plclink.registry.ack", "operator"),
    ("plc-01.NewPLC", "engineer"),
    ("plc-01.SeedBlob", "engineer"),
    ("plc-01.GetPLCID", "engineer"),
    ("plclink.registry.record_deployment", "engineer"),
    ("plclink.registry.store_program", "engineer"),
    ("wamp.session.kill", "admin"),
    ("wamp.session.kill_by_authid", "admin"),
]
ROLES = ("viewer", "operator", "engineer", "admin")


def person(role, **kwargs):
    return Person(role, role, "$argon2id$unused", **kwargs)


@pytest.mark.parametrize("uri, least", ACTIONS)
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix_rules(role, uri, least):
    allowed, why = person_may(person(role), uri, "call", lambda plc_id: "local",
                              ("wamp.session.list",))
    assert allowed == (ROLES.index(role) >= ROLES.index(least)), why
    assert required_role(uri, "call", ("wamp.session.list",)) == least


def test_scope_rules():
    scoped = person("operator", sites=("plant-a",), runtimes=("a-*",))
    site = {"a-01": "plant-a", "a-02": "plant-b", "b-01": "plant-a"}.get
    assert person_may(scoped, "a-01.StopPLC", "call", site)[0]
    assert not person_may(scoped, "a-02.StopPLC", "call", site)[0]     # other site
    allowed, why = person_may(scoped, "b-01.GetPLCstatus", "call", site)
    assert not allowed and "outside operator's scope" in why
    assert not person_may(scoped, "b-01.status", "subscribe", site)[0]
    assert person_may(scoped, "plclink.registry.runtimes", "call", site)[0]   # fleet-wide read
    assert not person_may(person("engineer", disabled=True), "a-01.GetPLCstatus", "call",
                          site)[0]
    # nobody registers, and only the runtime's own voice publishes its events
    assert not person_may(person("admin"), "a-01.GetPLCstatus", "register", site)[0]
    assert not person_may(person("admin"), "a-01.status", "publish", site,
                          may_publish=lambda uri: False)[0]


def test_throttle_slows_then_locks_per_address():
    now = [1000.0]
    throttle = LoginThrottle(ThrottlePolicy(max_failures=3, address_max_failures=5, lockout=60,
                                            base_delay=0.5, max_delay=4), clock=lambda: now[0])
    delays = [throttle.failed("alice", "10.0.0.9").delay for _ in range(3)]
    assert delays == [0.5, 0.5 + 1.0, 0.5 + 1.0 + 2.0]   # queued one after another, doubling
    assert throttle.locked("alice", "10.0.0.9").locked_for == 60
    assert throttle.locked("bob", "10.0.0.9") is None          # bob there is not locked yet
    throttle.failed("bob", "10.0.0.9")
    assert throttle.failed("bob", "10.0.0.9").newly_locked      # 5 at the address: all of it
    assert throttle.locked("carol", "10.0.0.9") is not None
    assert throttle.locked("alice", "10.0.0.8") is None        # alice elsewhere is not
    now[0] += 61
    assert throttle.locked("alice", "10.0.0.9") is None
    assert throttle.take_locked_count("alice", "10.0.0.9") == 1   # for the summary line
    assert throttle.take_locked_count("alice", "10.0.0.9") == 0
    assert throttle.failed("alice", "10.0.0.9").failures == 1   # the window started afresh


def test_throttle_success_ends_the_rows():
    throttle = LoginThrottle(ThrottlePolicy(max_failures=3, address_max_failures=3),
                             clock=lambda: 5.0)
    throttle.failed("alice", "10.0.0.9")
    throttle.failed("alice", "10.0.0.9")
    throttle.failed("stale-service", "10.0.0.9")
    assert throttle.succeeded("alice", "10.0.0.9") == 2
    assert throttle.failed("alice", "10.0.0.9").failures == 1
    assert not throttle.failed("stale-service", "10.0.0.9").newly_locked


def test_address_of_peer():
    assert address_of({"peer": "tcp4:127.0.0.2:53211"}) == "127.0.0.2"
    assert address_of({"peer": "tcp6:::1:53211"}) == "::1"
    assert address_of(None) == "unknown"


def test_journal_chain_shows_tampering(tmp_path):
    journal = audit_journal.AuditJournal(tmp_path)
    for n in range(3):
        journal.append("alice", "call", f"called StopPLC {n}", plc_id="plc-01")
    assert audit_journal.verify(tmp_path) == (3, None)
    # reopened, the chain goes on from the last record
    audit_journal.AuditJournal(tmp_path).append("bob", "login", "logged in")
    assert audit_journal.verify(tmp_path) == (4, None)
    assert [r["who"] for r in audit_journal.query(tmp_path, who="alice", limit=2)] == \
        ["alice", "alice"]
    [path] = tmp_path.glob("audit-*.jsonl")
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace("StopPLC 1", "StartPLC 1")
    path.write_text("\n".join(lines) + "\n")
    checked, problem = audit_journal.verify(tmp_path)
    assert problem == "record 2 was changed after it was written"
    path.write_text("\n".join(lines[:1] + lines[2:]) + "\n")
    assert "removed or inserted" in audit_journal.verify(tmp_path)[1]


def test_retention_drops_whole_old_months(tmp_path):
    old = tmp_path / "audit-2024-01.jsonl"
    old.write_text("{}\n")
    audit_journal.AuditJournal(tmp_path, keep_days=400, clock=lambda: 1796000000.0)
    assert not old.exists()


# --- a real router -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def people_router(tmp_path_factory):
    state = tmp_path_factory.mktemp("people-router")
    running = Router(state)
    path = os.path.join(running.state_dir, "people.yaml")
    for role in ROLES:
        add_person(path, role + "-1", role, PASSWORD)
    add_person(path, "scoped", "operator", PASSWORD, sites=("local",), runtimes=("plc-0*",))
    running.people = path
    running.start(["--login-max-failures", "3", "--login-lockout", "6"])
    yield running
    running.stop()


def as_person(router, name, source="127.0.0.1", password=PASSWORD):
    return login(router.ws_port, router.realm, {"authid": name, "ticket": password}, source)


def call(session, uri, *args):
    return reactor_thread.blocking(session.call, uri, *args, timeout=15)


def refused(session, uri, *args) -> bool:
    """True when the router's authorizer refuses; anything else (no callee, an answer, an
    application error) means the call got through."""
    try:
        call(session, uri, *args)
    except ApplicationError as error:
        return error.error == "wamp.error.not_authorized"
    return False


def journal(router):
    return audit_journal.query(os.path.join(router.state_dir, "audit"), limit=1000)


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix_on_the_router(people_router, role):
    session = as_person(people_router, role + "-1")
    try:
        for uri, least in ACTIONS:
            if uri.startswith("wamp.session.kill"):
                continue   # would end sessions; covered by test_sessions_kill
            expected = ROLES.index(role) < ROLES.index(least)
            assert refused(session, uri) == expected, (role, uri)
    finally:
        leave(session)


@pytest.mark.slow
def test_call_outside_scope_refused_and_journaled(people_router):
    session = as_person(people_router, "scoped", "127.0.0.5")
    try:
        assert not refused(session, "plc-02.StopPLC")
        assert refused(session, "plc-11.StopPLC")
        assert refused(session, "erpc-07.GetPLCstatus")
    finally:
        leave(session)
    records = wait_until(lambda: [r for r in journal(people_router)
                                  if r["who"] == "scoped" and r["id"] == "plc-11"], 10)
    assert records[0]["outcome"] == "refused" and records[0]["address"] == "127.0.0.5"
    assert "outside scoped's scope" in records[0]["what"]
    done = [r for r in journal(people_router) if r["who"] == "scoped" and r["id"] == "plc-02"]
    assert done[0]["what"] == "called StopPLC" and done[0]["outcome"] == "allowed"


@pytest.mark.slow
def test_accounts_change_without_restart(people_router):
    with pytest.raises(Refused):
        as_person(people_router, "newcomer", "127.0.0.6")
    add_person(people_router.people, "newcomer", "viewer", PASSWORD)
    session = as_person(people_router, "newcomer", "127.0.0.6")
    assert call(session, "wamp.session.count") >= 1
    left = []
    session.on("leave", lambda session, details: left.append(details.reason))
    from plclink import cli
    assert cli.main(["users", "disable", "newcomer", "--people", people_router.people]) == 0
    wait_until(lambda: left, 30, message="the disabled person's session to end")
    with pytest.raises(Refused):
        as_person(people_router, "newcomer", "127.0.0.6")
    assert cli.main(["users", "enable", "newcomer", "--people", people_router.people]) == 0
    leave(as_person(people_router, "newcomer", "127.0.0.6"))
    # a service principal's name is never a person's
    assert cli.main(["users", "add", "plc-01", "--role", "viewer", "--password-file",
                     os.devnull, "--people", people_router.people]) == 2


@pytest.mark.slow
def test_lockout_then_success_other_address_unaffected(people_router):
    for _ in range(3):
        with pytest.raises(Refused):
            as_person(people_router, "operator-1", "127.0.0.7", password="wrong guess")
    with pytest.raises(Refused, match="too many failed logins"):
        as_person(people_router, "operator-1", "127.0.0.7")      # right password, locked
    leave(as_person(people_router, "operator-1", "127.0.0.8"))   # another address: in
    deadline = time.monotonic() + 60
    while True:      # the window (6 s here) passes; the locked answers may take a while
        try:
            leave(as_person(people_router, "operator-1", "127.0.0.7"))
            break
        except Refused:
            assert time.monotonic() < deadline, "still locked out long after the window"
    what = [r["what"] for r in journal(people_router)
            if r["who"] == "operator-1" and r["address"] == "127.0.0.7"]
    assert "login refused (3rd in a row): wrong password" in what
    assert any(text.startswith("locked out for 6 s") for text in what)


@pytest.mark.slow
def test_sessions_kill(people_router):
    victim = as_person(people_router, "viewer-1", "127.0.0.9")
    admin = as_person(people_router, "admin-1")
    try:
        left = []
        victim.on("leave", lambda session, details: left.append(details.reason))
        assert refused(victim, "wamp.session.kill", victim._session_id)
        sessions = call(admin, "wamp.session.list")
        mine = [s for s in sessions if call(admin, "wamp.session.get", s)["authid"] == "viewer-1"]
        assert victim._session_id in mine
        call(admin, "wamp.session.kill", victim._session_id)
        wait_until(lambda: left, 10, message="the killed session to end")
    finally:
        leave(admin)
    records = journal(people_router)
    assert any(r["who"] == "admin-1" and r["what"] == "called wamp.session.kill"
               for r in records)
    assert json.dumps(records)   # plain JSON, as plclink audit --json prints it


def test_meanings_of_force_tables_installs_and_acks():
    meanings = audit_meaning.Meanings()
    pump = {"index": 3, "name": "pump", "type": "BOOL", "value": True, "raw": "01",
            "by": "alice", "since": 1.0}
    level = {"index": 5, "name": "level", "type": "REAL", "value": 12.5, "raw": "...",
             "by": "bob", "since": 1.0}
    assert meanings.forces("plc-01", [level], 10.0) == []           # the baseline
    meanings.called("plc-01", "Release", "carol", 11.0)
    assert meanings.forces("plc-01", [pump], 12.0) == [
        {"id": "plc-01", "who": "alice", "what": "forced pump = TRUE"},
        {"id": "plc-01", "who": "carol", "what": "released level"}]
    assert meanings.status("plc-01", "Stopped", "1a97" + "0" * 28, 13.0) == []
    meanings.called("plc-01", "NewPLC", "dave", 14.0)
    assert meanings.status("plc-01", "Stopped", "2b08" + "0" * 28, 15.0) == [
        {"id": "plc-01", "who": "dave", "what": "installed 2b080000… (was 1a970000…)"}]
    # the testament left at join time still names the program of then
    assert meanings.status("plc-01", "Disconnected", "1a97" + "0" * 28, 15.5) == []
    assert meanings.status("plc-01", "Started", "3c19" + "0" * 28, 15.0 + 1000)[0]["who"] \
        == "unknown"
    alarm = {"alarm": 17, "id": "plc-01", "kind": "broken", "detail": "division by zero",
             "acked_by": "erin"}
    assert meanings.alarm(alarm) == [{"id": "plc-01", "who": "erin", "what":
                                      "acknowledged alarm 17 (broken: division by zero)"}]
    assert meanings.alarm(alarm) == []     # announced again: journaled once


class Caller:
    """A person's session with the call() the transfer helpers expect."""

    def __init__(self, session):
        self.session = session

    def call(self, uri, *args, **kwargs):
        return reactor_thread.blocking(self.session.call, uri, *args, timeout=30, **kwargs)


@pytest.mark.slow
def test_journal_says_what_calls_meant(people_router, tmp_path):
    """An install by a person, and forces as the force contract's runtime publishes them (a
    stand-in runtime: the force procedures land with the forcing issue)."""
    from autobahn.wamp.types import PublishOptions, RegisterOptions
    from test_router_runtime import raw_transfer
    plc = people_router.start_runtime("plc-03", tmp_path / "plc-03")
    engineer = as_person(people_router, "engineer-1", "127.0.0.10")
    try:
        with open(os.path.join(os.path.dirname(__file__), "programs", "all_types.py"),
                  "rb") as handle:
            md5, ok = raw_transfer(Caller(engineer), "plc-03", handle.read())
        assert ok is True
        wait_until(lambda: [r for r in journal(people_router) if r["who"] == "engineer-1"
                            and r["what"].startswith(f"installed {md5[:8]}")], 30,
                   message="the install in the journal")
    finally:
        leave(engineer)
        plc.stop()

    runtime = people_router.client("plc-04")
    table = [{"index": 3, "name": "pump", "type": "BOOL", "value": True, "raw": "01",
              "before": False, "by": "alice", "since": 1.0}]

    def publish():
        runtime.session.publish("plc-04.forces", table, options=PublishOptions(retain=True))

    def force(orders, details=None):
        table[:] = [{**table[0], "value": orders[0]["value"], "by": details.caller_authid}]
        publish()
        return table

    def release(indexes=None, restore=False):
        table.clear()
        publish()
        return table
    options = RegisterOptions(details_arg="details")
    reactor_thread.blocking(runtime.session.register, force, "plc-04.Force", options=options)
    reactor_thread.blocking(runtime.session.register, release, "plc-04.Release")
    reactor_thread.blocking(publish)
    operator = as_person(people_router, "operator-1", "127.0.0.11")
    try:
        call(operator, "plc-04.Force", [{"index": 3, "value": False}])
        call(operator, "plc-04.Release", [3])
    finally:
        leave(operator)
        runtime.close()
    wanted = [("operator-1", "forced pump = FALSE"), ("operator-1", "released pump")]
    wait_until(lambda: all(any((r["who"], r["what"]) == item for r in journal(people_router))
                           for item in wanted), 15, message=f"{wanted} in the journal")


@pytest.mark.slow
def test_audit_and_sessions_commands(people_router, tmp_path):
    from ide_fixtures import CLI
    from plclink.users_command import credentials_document, write_credentials

    def cli_as(name):
        path = tmp_path / f"{name}.yaml"
        write_credentials(path, {**credentials_document(name, PASSWORD, people_router.url),
                                 "realm": people_router.realm})
        env = {key: value for key, value in os.environ.items() if not key.startswith("PLCLINK_")}
        return CLI({**env, "PLCLINK_CREDENTIALS": str(path)})
    viewer = as_person(people_router, "viewer-1", "127.0.0.12")
    try:
        refused(viewer, "plc-01.StopPLC")
        admin = cli_as("admin-1")
        code, records, _ = admin.json("audit", "--user", "viewer-1", "--since", "10m")
        assert code == 0 and records[0]["what"].startswith("called StopPLC: call plc-01.StopPLC "
                                                           "needs role operator")
        assert records[0]["address"] == "127.0.0.12"
        older = admin.json("audit", "--user", "viewer-1", "--before", str(records[0]["seq"]))[1]
        assert all(record["seq"] < records[0]["seq"] for record in older)
        assert admin.run("audit", "--since", "yesterday").returncode == 2
        code, sessions, _ = admin.json("sessions")
        mine = [s for s in sessions if s["authid"] == "viewer-1"]
        assert code == 0 and mine and mine[0]["address"].startswith("tcp4:127.0.0.12:")
        left = []
        viewer.on("leave", lambda session, details: left.append(details.reason))
        code, _, error = cli_as("operator-1").json("sessions", "kill", str(mine[0]["session"]))
        assert code != 0 and "not authorized" in error      # only an admin ends sessions
        assert admin.run("sessions", "kill", str(mine[0]["session"])).returncode == 0
        wait_until(lambda: left, 10, message="the session to end")
    finally:
        leave(viewer)


@pytest.mark.slow
def test_admin_manages_accounts_through_the_router(people_router, tmp_path):
    from ide_fixtures import CLI
    from plclink.users_command import credentials_document, write_credentials

    def cli_as(name):
        path = tmp_path / f"{name}.yaml"
        write_credentials(path, credentials_document(name, PASSWORD, people_router.url))
        env = {key: value for key, value in os.environ.items() if not key.startswith("PLCLINK_")}
        return CLI({**env, "PLCLINK_CREDENTIALS": str(path)})
    secret = tmp_path / "password"
    secret.write_text("remote password\n")
    admin = cli_as("admin-1")
    done = admin.run("users", "add", "remote-1", "--role", "viewer", "--runtimes", "plc-0*",
                     "--password-file", str(secret), "--via-router")
    assert done.returncode == 0, done.stderr
    assert "remote-1         viewer    enabled   runtimes plc-0*" in admin.run(
        "users", "list", "--via-router").stdout
    leave(as_person(people_router, "remote-1", password="remote password"))
    refused = cli_as("engineer-1").run("users", "disable", "remote-1", "--via-router")
    assert refused.returncode == 2 and "not authorized" in refused.stderr
    assert admin.run("users", "disable", "remote-1", "--via-router").returncode == 0
    with pytest.raises(Refused):
        as_person(people_router, "remote-1", "127.0.0.13", password="remote password")
    records = [r["what"] for r in journal(people_router) if r["who"] == "admin-1"]
    assert "add remote-1 (viewer, scope runtimes plc-0*)" in records
    assert "disable remote-1" in records


@pytest.mark.slow
def test_journal_names_forces_on_a_real_runtime(people_router, tmp_path):
    """The runtime of the force contract (docs/force-model.md): an operator forces and
    releases; the journal says which variable, which value, who."""
    plc = people_router.start_runtime("plc-05", tmp_path / "plc-05")
    operator = as_person(people_router, "operator-1", "127.0.0.14")
    try:
        call(operator, "plc-05.Force", [{"index": 3, "value": True}])    # pump, BOOL
        call(operator, "plc-05.Release", [3])
        wanted = [("operator-1", "forced pump = TRUE"), ("operator-1", "released pump")]
        wait_until(lambda: all(any((r["who"], r["what"], r["id"]) == (*item, "plc-05")
                                   for r in journal(people_router)) for item in wanted),
                   30, message=f"{wanted} in the journal")
    finally:
        leave(operator)
        plc.stop()
