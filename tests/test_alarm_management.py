"""Alarm management through the command line and the real registry, runtimes and router: ack
with a comment, a second ack, ack-all, shelving and auto-unshelve, the crash as one alarm, rules
checked against the variable table, alarms cleared after a restart; notifications received by a
real SMTP sink (aiosmtpd) and an HTTP receiver on 127.0.0.1, and a failed delivery on the list."""
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from browser.dashboard import log_in
from browser.fixtures import browser  # noqa: F401  (module fixture)
from harness import ROOT, free_port, wait_until
from ide_fixtures import cli, ide_credentials, module_runtimes  # noqa: F401
from registry.alarms import CRASH_WINDOW
from registry_fixtures import RegistryProcess, registry_call, wait_for

pytestmark = pytest.mark.slow
RAISING_PROGRAM = os.path.join(ROOT, "tests", "programs", "raises.py")


class Receiver:
    """An HTTP server on 127.0.0.1 keeping every JSON body POSTed to it."""

    def __init__(self):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alarms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """aiosmtpd's controller on 127.0.0.1: the messages it was given."""

    def __init__(self):
        from aiosmtpd.controller import Controller
        from aiosmtpd.handlers import Message

        messages = self.messages = []

        class Keep(Message):
            def handle_message(self, message):
                messages.append(message)

        self.port = free_port()
        self.controller = Controller(Keep(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def close(self):
        self.controller.stop()


@pytest.fixture(scope="module")
def sinks():
    receiver, smtp = Receiver(), SmtpSink()
    yield receiver, smtp
    receiver.close()
    smtp.close()


@pytest.fixture(scope="module")
def registry(router, tmp_path_factory, sinks):
    receiver, smtp = sinks
    workdir = tmp_path_factory.mktemp("registry-alarms")
    notify = workdir / "notify.yaml"
    notify.write_text(
        "min_priority: critical\nretries: 1\n"
        f"webhooks:\n  - url: {receiver.url}\n"
        f"  - url: http://127.0.0.1:{free_port()}/nobody-listens\n"
        f"email:\n  host: 127.0.0.1\n  port: {smtp.port}\n  from: plclink@plant.example\n"
        "  to: [shift@plant.example]\n")
    process = RegistryProcess(router, f"sqlite:///{workdir / 'registry.sqlite'}", workdir,
                              "--notify", str(notify))
    process.start()
    yield process
    process.stop()


def active(cli, plc_id, kind, *extra):
    found = cli.json("alarms", "--active", "--id", plc_id, *extra)[1]
    return next((a for a in found if a["kind"] == kind), None)


def test_a_crash_is_one_alarm_and_is_notified_by_webhook_and_email(
        cli, registry, module_runtimes, ide, sinks):
    receiver, smtp = sinks
    module_runtimes("plc-07", program=RAISING_PROGRAM, extras=(), autostart=True)
    broken = wait_until(lambda: (lambda a: a if a and "boom" in a["detail"] else None)(
        active(cli, "plc-07", "broken")), 30, message="Broken alarm with the CRITICAL message")
    assert broken["priority"] == "critical" and "boom at cycle 20" in broken["detail"]
    posted = wait_until(lambda: next((body for body in receiver.received
                                      if body["alarm"]["alarm"] == broken["alarm"]), None),
                        30, message="webhook")
    assert posted["alarm"]["kind"] == "broken" and posted["summary"].startswith("[CRITICAL]")
    mail = wait_until(lambda: next((m for m in smtp.messages
                                    if f"alarm {broken['alarm']} " in m["Subject"]), None),
                      30, message="e-mail")
    assert mail["To"] == "shift@plant.example" and "boom at cycle 20" in mail.get_payload()
    # no second alarm for the CRITICAL log of the same crash (told again when it joined)
    time.sleep(CRASH_WINDOW + 1)
    kinds = [a["kind"] for a in cli.json("alarms", "--id", "plc-07")[1]]
    assert kinds.count("broken") == 1 and "critical_log" not in kinds
    # the webhook nobody listens to: a notify_failed alarm says so, and the command shows it
    failed = wait_until(lambda: active(cli, "notifications", "notify_failed"), 60,
                        message="notify_failed alarm")
    assert "webhook 2" in failed["detail"]
    code, shown, err = cli.json("alarms", "notifications")
    assert code == 0, err
    by_name = {t["name"]: t for t in shown["targets"]}
    assert by_name["webhook 1"]["sent"] >= 1 and by_name["email"]["sent"] >= 1
    assert by_name["webhook 2"]["failed"] >= 1 and by_name["webhook 2"]["last_error"]
    text = cli.run("alarms", "--id", "plc-07").stdout
    assert "PRIORITY" in text.splitlines()[0] and "CRITICAL" in text


def test_the_dashboard_lists_the_notified_alarm_and_the_failed_delivery(
        cli, browser, router, registry, module_runtimes, sinks):
    """The same notifications seen by a person in Chromium: the alarm the webhook received is
    on the list, and so is the delivery that failed, with the target it failed for."""
    receiver, _ = sinks
    module_runtimes("plc-a", program=RAISING_PROGRAM, extras=(), autostart=True)
    broken = wait_until(lambda: active(cli, "plc-a", "broken"), 30, message="Broken alarm")
    wait_until(lambda: any(body["alarm"]["alarm"] == broken["alarm"] for body in receiver.received),
               30, message="webhook")
    failed = wait_until(lambda: active(cli, "notifications", "notify_failed"), 60,
                        message="notify_failed alarm")
    page = log_in(browser, f"http://127.0.0.1:{router.web_port}/", "viewer",
                  router.secret("viewer"))
    page.click("#alarms-link")
    page.wait_for(f"#alarms-table tr[data-alarm='{broken['alarm']}']", "◆ Critical")
    failed_row = f"#alarms-table tr[data-alarm='{failed['alarm']}']"
    page.wait_for(failed_row, "Notification failed")
    assert "webhook 2" in page.text(failed_row)
    assert page.problems() == []
    page.close()


def test_ack_comment_second_ack_ack_all_and_shelving(cli, registry, module_runtimes, ide):
    module_runtimes("plc-08", autostart=True)
    wait_for(ide, "variables", lambda rows: rows, "plc-08")
    code, done, err = cli.json("alarms", "add-rule", "levle > 90 for 5 s", "--for-ids", "plc-08")
    assert code == 2 and "did you mean level" in err, err
    code, rule, err = cli.json("alarms", "add-rule", "level >= 0", "--for-ids", "plc-08",
                               "--priority", "high")
    assert code == 0 and rule["text"] == "level >= 0 priority high", err
    code, second, err = cli.json("alarms", "add-rule", "setpoint >= 0", "--for-ids", "plc-08")
    assert code == 0, err
    try:
        alarm = wait_until(lambda: next((a for a in cli.json("alarms", "--active", "--id",
                                                             "plc-08")[1]
                                         if a["detail"].startswith("level")), None),
                           30, message="rule alarm")
        assert alarm["priority"] == "high"
        listed = cli.json("alarms", "--active", "--id", "plc-08")[1]
        assert [a["priority"] for a in listed][:1] == ["high"]     # most urgent first
        code, acked, err = cli.json("alarms", "ack", str(alarm["alarm"]), "--comment",
                                    "level sensor checked")
        assert code == 0 and acked["ack_comment"] == "level sensor checked", err
        again = cli.run("alarms", "ack", str(alarm["alarm"]))
        assert again.returncode == 0 and "already acknowledged by ide at" in again.stdout
        code, all_acked, err = cli.json("alarms", "ack", "--all", "--id", "plc-08")
        assert code == 0 and alarm["alarm"] not in [a["alarm"] for a in all_acked], err
        assert all(a["acked_by"] == "ide" for a in all_acked)
        # shelving: who and why, listed apart, back by itself
        code, shelved, err = cli.json("alarms", "shelve", str(alarm["alarm"]), "--for", "20s",
                                      "--reason", "sensor being replaced")
        assert code == 0 and shelved["shelved_by"] == "ide", err
        assert alarm["alarm"] not in [a["alarm"] for a in cli.json("alarms", "--id", "plc-08")[1]]
        apart = cli.json("alarms", "--shelved")[1]
        assert [a["shelve_reason"] for a in apart if a["alarm"] == alarm["alarm"]] == \
            ["sensor being replaced"]
        wait_until(lambda: not cli.json("alarms", "--shelved")[1], 60, message="unshelved")
        assert cli.json("alarms", "shelve", str(alarm["alarm"]), "--for", "1h")[0] == 2
        assert cli.json("alarms", "shelve", str(alarm["alarm"]), "--for", "soon",
                        "--reason", "x")[0] == 2
        code, _, err = cli.json("alarms", "shelve", str(alarm["alarm"]), "--for", "1h",
                                "--reason", "maintenance")
        assert code == 0, err
        code, back, err = cli.json("alarms", "unshelve", str(alarm["alarm"]))
        assert code == 0 and not back["shelved"], err
        # every change is in the audit trail
        methods = [row["method"] for row in registry_call(ide, "audit", id="plc-08")]
        for action in ("raised", "acknowledged", "shelved", "unshelved"):
            assert f"alarm {action}" in methods
    finally:
        for number in (rule["rule"], second["rule"]):
            assert cli.json("alarms", "remove-rule", str(number))[0] == 0


def test_alarms_clear_when_their_cause_is_gone_after_a_restart(
        cli, registry, router, ide, tmp_path):
    child = router.start_runtime("plc-09", tmp_path / "a", program=RAISING_PROGRAM, extras=(),
                                 autostart=True)
    wait_until(lambda: active(cli, "plc-09", "broken"), 30, message="Broken alarm")
    registry.kill()
    child.stop()
    child = router.start_runtime("plc-09", tmp_path / "b", autostart=True)   # repaired
    try:
        registry.start()
        wait_until(lambda: active(cli, "plc-09", "broken") is None, 30, message="cleared")
        assert active(cli, "plc-09", "disconnected") is None
    finally:
        child.stop()
