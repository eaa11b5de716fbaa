"""Alarms: raised by a runtime's status (Broken, Disconnected), a CRITICAL log, a plant link out of
reach or a rule on its values (registry/rules.py parses rules and watches one value); cleared when
their cause is gone, acknowledged (with a comment), shelved for a while, announced, notified
(registry/notifications.py) and written to the audit trail at every change.

What operators are spared (ISA-18.2's consequential and nuisance alarms):
- a crash is one alarm: a CRITICAL log followed within CRASH_WINDOW by Broken is the Broken
  alarm's detail, not an alarm of its own (the CRITICAL alarm waits that long before it is
  raised);
- a runtime whose plant link went out of reach raises no Disconnected alarm: the link's alarm
  lists it;
- what the suite does itself at start: a runtime seen Disconnected within GRACE seconds of the
  registry's start or of its first appearance raises its alarm only if it is still Disconnected
  once the grace period is over.

A mixin of registry.live.Registry.
"""
from twisted.internet import reactor
from twisted.internet.threads import deferToThread
from twisted.logger import Logger

from plc_protocol.status import PLCStatus
from registry import queries
from registry.alarm_management import DEFAULT_PRIORITIES, PRIORITIES, FloodWatch
from registry.rules import RuleWatch

CRASH_WINDOW = 3.0      # seconds between a CRITICAL log and the Broken status of one crash
GRACE = 10.0            # seconds after the registry's start / a runtime's first appearance
log = Logger()


class Alarms:
    def __init__(self):
        self.open_alarms = {}       # (ID, kind, source) -> alarm row
        self.rules = []
        self.watches = {}           # (ID, rule number) -> RuleWatch
        self.kind_priority = dict(DEFAULT_PRIORITIES)
        self.flood = FloodWatch()
        self.notifier = None        # registry/notifications.py, when configured
        self.first_heard = {}       # ID -> when this registry first heard of it
        self.crashes = {}           # ID -> (when, text, DelayedCall) of a CRITICAL log waiting
        self.grace_calls = {}       # ID -> DelayedCall raising Disconnected after the grace
        self.folded = {}            # ID -> site whose link alarm stands for its Disconnected
        self.shelf_calls = {}       # alarm number -> DelayedCall ending its shelving
        self.clock = reactor        # a task.Clock in the fast tests
        super().__init__()

    # --- causes ----------------------------------------------------------------------------------

    def status_alarms(self, plc_id, before, row, now) -> None:
        fresh = plc_id not in self.first_heard
        if fresh:
            self.first_heard[plc_id] = now
        broken = row["status"] == PLCStatus.BROKEN.value
        if broken:
            self.raise_alarm(plc_id, "broken", "", self._crash_detail(plc_id, row), now)
        else:
            self.clear_alarm(plc_id, "broken", "", now)
        recovered = row["online"] and (fresh or not before["online"] or (
            row["status"] == PLCStatus.STARTED.value and before["status"] != row["status"]))
        if recovered and not broken:
            self._clear_kind(plc_id, "critical_log", now)
        if row["online"]:
            call = self.grace_calls.pop(plc_id, None)
            if call is not None and call.active():
                call.cancel()
            self.clear_alarm(plc_id, "disconnected", "", now)
        elif plc_id not in self.folded and plc_id not in self.grace_calls:
            since = max(self.started_at, self.first_heard[plc_id])
            if now - since >= GRACE:
                self.raise_alarm(plc_id, "disconnected", "", f"status {row['status']}", now)
            else:
                self.grace_calls[plc_id] = self.clock.callLater(
                    since + GRACE - now, self._grace_over, plc_id)

    def _grace_over(self, plc_id) -> None:
        self.grace_calls.pop(plc_id, None)
        row = self.runtimes.get(plc_id)
        if row is not None and not row["online"] and plc_id not in self.folded:
            self.raise_alarm(plc_id, "disconnected", "", f"status {row['status']}",
                             row["offline_since"] or self.clock.seconds())

    def _crash_detail(self, plc_id, row) -> str:
        waiting = self.crashes.pop(plc_id, None)
        if waiting is not None:
            when, text, call = waiting
            if call.active():
                call.cancel()
            return text
        return row.get("cause") or f"status {row['status']}"

    def broken_cause(self, plc_id) -> None:
        """The runtime told why it is Broken (status kwarg ``cause``, the CRITICAL message)."""
        row, alarm = self.runtimes.get(plc_id), self.open_alarms.get((plc_id, "broken", ""))
        if alarm is not None and row.get("cause") and alarm["detail"].startswith("status "):
            self._update(alarm, detail=row["cause"])

    def critical_log(self, plc_id, msg_id, text, now) -> None:
        """A CRITICAL log: the Broken alarm's detail when it is (or becomes) a crash."""
        broken = self.open_alarms.get((plc_id, "broken", ""))
        if broken is not None:
            if now - broken["raised_at"] <= CRASH_WINDOW:
                self._update(broken, detail=text)
            return
        if plc_id in self.crashes:
            return   # the first CRITICAL log of a crash tells most
        self.crashes[plc_id] = (now, text, self.clock.callLater(
            CRASH_WINDOW, self._not_a_crash, plc_id, str(msg_id), text, now))

    def _not_a_crash(self, plc_id, source, text, when) -> None:
        self.crashes.pop(plc_id, None)
        self.raise_alarm(plc_id, "critical_log", source, text, when)

    def link_lost(self, plc_id, site, now) -> None:
        """A runtime out of reach because its site's link went: one alarm for the link."""
        self.folded[plc_id] = site
        out = sorted(other for other, where in self.folded.items() if where == site)
        detail = f"link to site {site} lost: {len(out)} runtime(s) out of reach ({', '.join(out)})"
        row = self.open_alarms.get((site, "link", site))
        if row is None:
            self.raise_alarm(site, "link", site, detail, now)
        else:
            self._update(row, detail=detail)

    def link_back(self, plc_id, now) -> None:
        site = self.folded.pop(plc_id, None)
        if site is not None and site not in self.folded.values():
            self.clear_alarm(site, "link", site, now)

    def evaluate_rules(self, plc_id, values: dict, now) -> None:
        for rule in self.rules:
            if rule.name not in values or not rule.applies_to(plc_id):
                continue
            watch = self.watches.get((plc_id, rule.number))
            if watch is None:
                watch = self.watches[(plc_id, rule.number)] = RuleWatch(
                    rule, raised=(plc_id, "rule", str(rule.number)) in self.open_alarms)
            change = watch.sample(values[rule.name], now)
            if change == "raise":
                self.raise_alarm(plc_id, "rule", str(rule.number),
                                 f"{rule.text} (value {values[rule.name]:g})", now,
                                 rule.priority)
            elif change == "clear":
                self.clear_alarm(plc_id, "rule", str(rule.number), now)

    def drop_orphans(self, now) -> None:
        """Rule alarms whose rule is gone (removed, or no longer in the rules file) clear."""
        numbers = {str(rule.number) for rule in self.rules}
        for key in [key for key in self.open_alarms if key[1] == "rule" and key[2] not in numbers]:
            self.clear_alarm(*key, now)
        for row in self.open_alarms.values():
            if row.get("shelved_until"):
                self._shelf_timer(row)

    # --- state changes -------------------------------------------------------------------------

    def raise_alarm(self, plc_id, kind, source, detail, now, priority=None) -> None:
        key = (plc_id, kind, source)
        if key in self.open_alarms:
            return
        row = {"seq": self.numbers["alarm"], "runtime_id": plc_id, "kind": kind,
               "source": source, "detail": detail, "raised_at": now, "cleared_at": None,
               "acked_at": None, "acked_by": None,
               "priority": priority or self.kind_priority.get(kind, "medium"),
               "ack_comment": None, "shelved_at": None, "shelved_until": None,
               "shelved_by": None, "shelve_reason": None}
        self.numbers["alarm"] += 1
        self.open_alarms[key] = row
        self.writer.put("alarm", dict(row))
        log.info("alarm {n} raised ({priority}): {id} {kind} {detail}", n=row["seq"],
                 priority=row["priority"], id=plc_id, kind=kind, detail=detail)
        if self.flood.add(now):
            log.warn("alarm flood: more than {count} alarms in {minutes:g} minutes",
                     count=self.flood.count, minutes=self.flood.window / 60)
        self._changed(row, "raised", None, detail)
        if self.notifier is not None:
            self.notifier.raised(queries.alarm_document(row, self.clock.seconds()))

    def clear_alarm(self, plc_id, kind, source, now) -> None:
        row = self.open_alarms.pop((plc_id, kind, source), None)
        if row is None:
            return
        row["cleared_at"] = now
        self._end_shelf(row)
        self.writer.put("alarm_update", {"seq": row["seq"], "cleared_at": now})
        self._changed(row, "cleared", None, "")

    def _clear_kind(self, plc_id, kind, now) -> None:
        for key in [key for key in self.open_alarms if key[0] == plc_id and key[1] == kind]:
            self.clear_alarm(*key, now)

    def _update(self, row, **change) -> None:
        row.update(change)
        self.writer.put("alarm_update", {"seq": row["seq"], **change})
        self.announce("on_alarm", queries.alarm_document(row, self.clock.seconds()))

    def _changed(self, row, action, who, note) -> None:
        """Announce the alarm and write the change to the audit trail."""
        self.announce("on_alarm", queries.alarm_document(row, self.clock.seconds()))
        record = {"seq": self.numbers["audit"], "time": self.clock.seconds(),
                  "runtime_id": row["runtime_id"], "method": f"alarm {action}",
                  "authid": who or "registry", "authrole": None, "result": "ok",
                  "detail": f"alarm {row['seq']} {row['kind']} ({row['priority']})"
                            + (f": {note}" if note else ""),
                  "result_at": self.clock.seconds()}
        self.numbers["audit"] += 1
        self.writer.put("audit", record)

    def _open_row(self, number):
        return next((row for row in self.open_alarms.values() if row["seq"] == number), None)

    def open_document(self, number) -> dict | None:
        row = self._open_row(number)
        return queries.alarm_document(row, self.clock.seconds()) if row is not None else None

    async def _stored(self, number):
        await deferToThread(self.writer.flush)
        return await self.db(queries.alarm, number)

    # --- what operators do ---------------------------------------------------------------------

    async def ack(self, number: int, authid: str, comment=None) -> dict | None:
        """Acknowledge: who, when and why; a CRITICAL log's alarm ends with its acknowledgement.
        A second acknowledgement changes nothing: the answer says ``already``."""
        now = self.clock.seconds()
        row = self._open_row(number)
        if row is not None:   # open: the registry's memory is the truth, no database wait
            stored = queries.alarm_document(row, now)
            if stored["acked_at"] is None:
                self.acknowledge(number, stored, authid, comment, now)
            return dict(queries.alarm_document(row, now), already=stored["acked_at"] is not None)
        stored = await self._stored(number)
        if stored is None:
            return None
        if stored["acked_at"] is not None:
            return dict(stored, already=True)
        self.acknowledge(number, stored, authid, comment, now)
        return dict(await self._stored(number), already=False)

    def acknowledge(self, number, stored, authid, comment, now) -> None:
        change = {"acked_at": now, "acked_by": authid, "ack_comment": comment or None}
        row = self._open_row(number)
        if row is None:   # cleared before: the record only
            self.writer.put("alarm_update", {"seq": number, **change})
            row = dict(stored, seq=number, runtime_id=stored["id"], **change)
            self._changed(row, "acknowledged", authid, comment)
            return
        row.update(change)
        if row["kind"] == "critical_log":
            self.open_alarms.pop((row["runtime_id"], row["kind"], row["source"]), None)
            row["cleared_at"] = change["cleared_at"] = now
            self._end_shelf(row)
        self.writer.put("alarm_update", {"seq": number, **change})
        self._changed(row, "acknowledged", authid, comment)

    async def ack_all(self, authid, comment=None, plc_id=None, priority=None) -> list:
        """Acknowledge every active, unacknowledged, unshelved alarm of the filter."""
        now = self.clock.seconds()
        chosen = [row for row in list(self.open_alarms.values())
                  if row["acked_at"] is None and not queries.alarm_document(row, now)["shelved"]
                  and (plc_id is None or row["runtime_id"] == plc_id)
                  and (priority is None or row["priority"] == priority)]
        for row in chosen:
            self.acknowledge(row["seq"], queries.alarm_document(row, now), authid, comment, now)
        await deferToThread(self.writer.flush)
        return [queries.alarm_document(row, now) for row in chosen]

    def shelve(self, number, authid, seconds, reason) -> dict | None:
        """Hide an active alarm from the list and from notifications for ``seconds``."""
        row = self._open_row(number)
        if row is None:
            return None
        now = self.clock.seconds()
        change = {"shelved_at": now, "shelved_until": now + seconds, "shelved_by": authid,
                  "shelve_reason": reason}
        row.update(change)
        self.writer.put("alarm_update", {"seq": number, **change})
        self._shelf_timer(row)
        self._changed(row, "shelved", authid, f"for {seconds:g} s: {reason}")
        return queries.alarm_document(row, self.clock.seconds())

    def unshelve(self, number, authid) -> dict | None:
        row = self._open_row(number)
        if row is None or not row.get("shelved_until"):
            return None
        self._end_shelf(row)
        self.writer.put("alarm_update", {"seq": number, "shelved_until": row["shelved_until"]})
        self._changed(row, "unshelved", authid, "" if authid else "shelving time over")
        if self.notifier is not None and authid is None and row["acked_at"] is None:
            self.notifier.raised(queries.alarm_document(row, self.clock.seconds()))   # back: announced anew
        return queries.alarm_document(row, self.clock.seconds())

    def _shelf_timer(self, row) -> None:
        self._cancel_shelf(row["seq"])
        delay = max(0.0, row["shelved_until"] - self.clock.seconds())
        self.shelf_calls[row["seq"]] = self.clock.callLater(delay, self.unshelve, row["seq"], None)

    def _cancel_shelf(self, number) -> None:
        call = self.shelf_calls.pop(number, None)
        if call is not None and call.active():
            call.cancel()

    def _end_shelf(self, row) -> None:
        self._cancel_shelf(row["seq"])
        if row.get("shelved_until"):
            row["shelved_until"] = min(row["shelved_until"], self.clock.seconds())

    def alarm_state(self) -> dict:
        """What the alarm list's header shows: counts and the flood indicator."""
        now = self.clock.seconds()
        documents = [queries.alarm_document(row, now) for row in self.open_alarms.values()]
        shown = [d for d in documents if not d["shelved"]]
        return {"active": len(shown), "unacked": sum(1 for d in shown if not d["acked_at"]),
                "shelved": len(documents) - len(shown),
                "by_priority": {p: sum(1 for d in shown if d["priority"] == p)
                                for p in PRIORITIES},
                "raised_recently": self.flood.recent(now), "flood": self.flood.flooding(now),
                "flood_count": self.flood.count, "flood_window": self.flood.window}

    # --- rules ---------------------------------------------------------------------------------

    def add_rule(self, rule) -> None:
        self.rules.append(rule)

    def remove_rule(self, number) -> None:
        self.rules = [rule for rule in self.rules if rule.number != number]
        for key in [key for key in self.watches if key[1] == number]:
            del self.watches[key]
        for key in [key for key in self.open_alarms if key[1] == "rule" and key[2] == str(number)]:
            self.clear_alarm(key[0], "rule", key[2], self.clock.seconds())
