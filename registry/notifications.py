"""Alarm notifications: a raised alarm at or above a priority goes out by webhook (JSON over HTTP
POST) and by e-mail through an SMTP server, so that someone away from the page hears of it.

Configured by the registry's ``--notify FILE`` (YAML, docs/alarms.md), shown by
``plclink alarms notifications``. A delivery that fails is tried again with back-off (1, 2, 4 …
seconds, ``retries`` times); one that fails for good is logged and raises an alarm of its own
(kind ``notify_failed`` on ``notifications``, cleared by the next delivery that works), so a
broken notification path is itself on the alarm list. Alarms shelved, and the notify_failed
alarms themselves, are not sent.
"""
import smtplib
import ssl
import time
from email.message import EmailMessage

import treq
from twisted.internet import defer, reactor, task
from twisted.internet.threads import deferToThread
from twisted.logger import Logger

from ide_component.cli_output import format_time as iso_time
from registry.alarm_management import at_least, parse_priority
from registry.alarms import CRASH_WINDOW

FAILED_KIND = "notify_failed"
FAILED_ID = "notifications"
HTTP_TIMEOUT = 10.0
SETTLE = CRASH_WINDOW
log = Logger()


def _priority(value, where, default):
    try:
        return parse_priority(value) if value is not None else default
    except ValueError as error:
        raise ValueError(f"{where}: {error}") from None


def read_notify_file(path: str) -> dict:
    """The checked configuration of a notify file; ValueError says what is wrong."""
    import yaml
    try:
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle)
    except OSError as error:
        raise ValueError(f"cannot read notify file {path}: {error.strerror}") from None
    except yaml.YAMLError as error:
        raise ValueError(f"notify file {path}: {error}") from None
    try:
        return parse_notify(document)
    except ValueError as error:
        raise ValueError(f"notify file {path}: {error}") from None


def parse_notify(document) -> dict:
    if not isinstance(document, dict):
        raise ValueError("expected a mapping with 'webhooks:' and/or 'email:'")
    unknown = set(document) - {"min_priority", "retries", "webhooks", "email"}
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(sorted(unknown))} (known: min_priority, "
                         "retries, webhooks, email)")
    default = _priority(document.get("min_priority"), "min_priority", "high")
    retries = document.get("retries", 5)
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 10:
        raise ValueError("retries must be an integer from 0 to 10")
    targets = []
    hooks = document.get("webhooks") or []
    if not isinstance(hooks, list):
        raise ValueError("webhooks must be a list of {url: ..., min_priority: ...}")
    for number, hook in enumerate(hooks, 1):
        hook = {"url": hook} if isinstance(hook, str) else hook
        url = hook.get("url") if isinstance(hook, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook {number}: url must be an http:// or https:// URL")
        targets.append({"name": f"webhook {number}", "type": "webhook", "url": url,
                        "min_priority": _priority(hook.get("min_priority"),
                                                  f"webhook {number}", default)})
    mail = document.get("email")
    if mail is not None:
        if not isinstance(mail, dict):
            raise ValueError("email must be a mapping (host, port, from, to, ...)")
        to = mail.get("to")
        to = [to] if isinstance(to, str) else to
        if not isinstance(to, list) or not to or not all(isinstance(a, str) and "@" in a
                                                         for a in to):
            raise ValueError("email: to must be one address or a list of addresses")
        port = mail.get("port", 25)
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise ValueError("email: port must be a TCP port number")
        if not isinstance(mail.get("host"), str) or not isinstance(mail.get("from"), str):
            raise ValueError("email: host and from are needed")
        password = None
        if mail.get("password_file"):
            try:
                with open(mail["password_file"], encoding="utf-8") as handle:
                    password = handle.read().strip()
            except OSError as error:
                raise ValueError(f"email: cannot read password_file: {error.strerror}") from None
        targets.append({"name": "email", "type": "email", "host": mail["host"], "port": port,
                        "starttls": bool(mail.get("starttls", False)),
                        "username": mail.get("username"), "password": password,
                        "from": mail["from"], "to": to,
                        "min_priority": _priority(mail.get("min_priority"), "email", default)})
    if not targets:
        raise ValueError("no webhook and no email: nothing would be notified")
    return {"retries": retries, "targets": targets}


def summary(alarm) -> str:
    return (f"[{alarm['priority'].upper()}] {alarm['id']} {alarm['kind']}: "
            f"{alarm['detail'] or ''}".rstrip(": "))


def email_message(target, alarm) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"plclink alarm {alarm['alarm']} {summary(alarm)}"[:200]
    message["From"] = target["from"]
    message["To"] = ", ".join(target["to"])
    message.set_content(
        f"Alarm {alarm['alarm']} raised at {iso_time(alarm['raised_at'])}\n"
        f"Priority: {alarm['priority']}\nRuntime: {alarm['id']}\nKind: {alarm['kind']}\n"
        f"Detail: {alarm['detail'] or '-'}\n\n"
        f"Acknowledge: plclink alarms ack {alarm['alarm']} --comment TEXT\n")
    return message


def send_email(target, message) -> None:
    """Blocking: run in a worker thread."""
    with smtplib.SMTP(target["host"], target["port"], timeout=HTTP_TIMEOUT) as smtp:
        if target["starttls"]:
            smtp.starttls(context=ssl.create_default_context())
        if target["username"]:
            smtp.login(target["username"], target["password"] or "")
        smtp.send_message(message)


class Notifier:
    def __init__(self, config: dict, registry):
        self.config = config
        self.registry = registry
        self.counts = {t["name"]: {"sent": 0, "failed": 0, "last_error": None,
                                   "last_sent_at": None} for t in config["targets"]}

    def raised(self, alarm) -> None:
        """Sent after SETTLE seconds, as the alarm is then: a crash's Broken alarm has its
        CRITICAL message by then."""
        if alarm["kind"] == FAILED_KIND or alarm.get("shelved"):
            return
        targets = [target for target in self.config["targets"]
                   if at_least(alarm["priority"], target["min_priority"])]
        if targets:
            reactor.callLater(SETTLE, self._send, targets, alarm)

    def _send(self, targets, alarm) -> None:
        now = self.registry.open_document(alarm["alarm"]) or alarm
        if now.get("shelved"):
            return
        for target in targets:
            defer.ensureDeferred(self.deliver(target, now))

    async def _once(self, target, alarm) -> None:
        if target["type"] == "email":
            await deferToThread(send_email, target, email_message(target, alarm))
            return
        payload = {"event": "alarm_raised", "summary": summary(alarm),
                   "raised_at_iso": iso_time(alarm["raised_at"]), "alarm": alarm}
        response = await treq.post(target["url"], json=payload, timeout=HTTP_TIMEOUT)
        await response.content()
        if not 200 <= response.code < 300:
            raise OSError(f"HTTP {response.code}")

    async def deliver(self, target, alarm) -> None:
        counts = self.counts[target["name"]]
        error = None
        for attempt in range(self.config["retries"] + 1):
            if attempt:
                await task.deferLater(reactor, 2 ** (attempt - 1), lambda: None)
            try:
                await self._once(target, alarm)
            except Exception as failure:   # any failure of the path: tried again, then shown
                error = f"{type(failure).__name__}: {failure}"[:300]
                continue
            counts["sent"] += 1
            counts["last_sent_at"] = time.time()
            self.registry.clear_alarm(FAILED_ID, FAILED_KIND, target["name"], time.time())
            return
        counts["failed"] += 1
        counts["last_error"] = error
        log.warn("alarm {n}: {target} notification failed after {tries} tries: {error}",
                 n=alarm["alarm"], target=target["name"], tries=self.config["retries"] + 1,
                 error=error)
        self.registry.raise_alarm(FAILED_ID, FAILED_KIND, target["name"],
                                  f"{target['name']} could not send alarm {alarm['alarm']}: "
                                  f"{error}", time.time())

    def describe(self) -> dict:
        """The configuration as ``plclink alarms notifications`` shows it: no password."""
        shown = []
        for target in self.config["targets"]:
            entry = {key: value for key, value in target.items() if key != "password"}
            entry.update(self.counts[target["name"]])
            shown.append(entry)
        return {"configured": True, "retries": self.config["retries"], "targets": shown}
