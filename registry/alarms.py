"""Alarms: raised by a runtime's status (Broken, Disconnected), a CRITICAL log or a rule on its
values (registry/rules.py parses rules and watches one value), cleared, acknowledged, announced.

A mixin of registry.live.Registry.
"""
import time

from twisted.internet.threads import deferToThread
from twisted.logger import Logger

from plc_protocol.status import PLCStatus
from registry import queries
from registry.rules import RuleWatch

log = Logger()


class Alarms:
    def __init__(self):
        self.open_alarms = {}       # (ID, kind, source) -> alarm row
        self.rules = []
        self.watches = {}           # (ID, rule number) -> RuleWatch
        super().__init__()

    def status_alarms(self, plc_id, row, now) -> None:
        for kind, raised in (("broken", row["status"] == PLCStatus.BROKEN.value),
                             ("disconnected", not row["online"])):
            if raised:
                self.raise_alarm(plc_id, kind, "", f"status {row['status']}", now)
            else:
                self.clear_alarm(plc_id, kind, "", now)

    def evaluate_rules(self, plc_id, values: dict, now) -> None:
        for rule in self.rules:
            if rule.name not in values or not rule.applies_to(plc_id):
                continue
            watch = self.watches.get((plc_id, rule.number))
            if watch is None:
                watch = self.watches[(plc_id, rule.number)] = RuleWatch(rule)
            change = watch.sample(values[rule.name], now)
            if change == "raise":
                self.raise_alarm(plc_id, "rule", str(rule.number),
                                 f"{rule.text} (value {values[rule.name]:g})", now)
            elif change == "clear":
                self.clear_alarm(plc_id, "rule", str(rule.number), now)

    def raise_alarm(self, plc_id, kind, source, detail, now) -> None:
        key = (plc_id, kind, source)
        if key in self.open_alarms:
            return
        row = {"seq": self.numbers["alarm"], "runtime_id": plc_id, "kind": kind,
               "source": source, "detail": detail, "raised_at": now, "cleared_at": None,
               "acked_at": None, "acked_by": None}
        self.numbers["alarm"] += 1
        self.open_alarms[key] = row
        self.writer.put("alarm", dict(row))
        log.info("alarm {n} raised: {id} {kind} {detail}", n=row["seq"], id=plc_id, kind=kind,
                 detail=detail)
        self.announce("on_alarm", queries.alarm_document(row))

    def clear_alarm(self, plc_id, kind, source, now) -> None:
        row = self.open_alarms.pop((plc_id, kind, source), None)
        if row is None:
            return
        row["cleared_at"] = now
        self.writer.put("alarm_update", {"seq": row["seq"], "cleared_at": now})
        self.announce("on_alarm", queries.alarm_document(row))

    async def ack(self, number: int, authid: str) -> dict | None:
        """Acknowledge: who and when; a CRITICAL log's alarm ends with its acknowledgement."""
        now = time.time()
        await deferToThread(self.writer.flush)
        stored = await self.db(queries.alarm, number)
        if stored is None:
            return None
        if stored["acked_at"] is not None:
            return stored
        change = {"seq": number, "acked_at": now, "acked_by": authid}
        key = (stored["id"], stored["kind"], next(
            (k[2] for k, row in self.open_alarms.items() if row["seq"] == number), None))
        if stored["kind"] == "critical_log" and stored["cleared_at"] is None:
            change["cleared_at"] = now
            self.open_alarms.pop(key, None)
        elif key in self.open_alarms:
            self.open_alarms[key].update(acked_at=now, acked_by=authid)
        self.writer.put("alarm_update", change)
        await deferToThread(self.writer.flush)
        document = await self.db(queries.alarm, number)
        self.announce("on_alarm", document)
        return document

    def add_rule(self, rule) -> None:
        self.rules.append(rule)

    def remove_rule(self, number) -> None:
        self.rules = [rule for rule in self.rules if rule.number != number]
        for key in [key for key in self.watches if key[1] == number]:
            del self.watches[key]
        for key in [key for key in self.open_alarms if key[1] == "rule" and key[2] == str(number)]:
            self.clear_alarm(key[0], "rule", key[2], time.time())
