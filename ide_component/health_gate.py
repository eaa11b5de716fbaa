"""A rollout wave's health gate: for S seconds after the install, every runtime of the wave must
be Started, its tick must advance, it must log no CRITICAL, raise no new alarm, and its scan
overruns must not rise (Kubernetes' readiness gates, Mender's phased deployments, for PLCs).

What the registry knows is read from the registry (architecture.md: its live table and alarms,
"never a client's own guess"): status, the Broken cause, CRITICAL counts, alarms. The runtime is
asked only what the registry does not hold: its cycle statistics (``GetCycleStats``: overruns
and the tick of the program process it runs now; the registry's tick, from ``<ID>.values``,
when the runtime has none), and its status when no registry is on the realm.
"""
import json
import time

from twisted.internet import defer, reactor, task

from ide_component import registry_client
from ide_component.failures import OperationFailed
from plc_protocol.extension_calls import CYCLE_STATS_CALL
from plc_protocol.log_levels import LogLevel
from plc_protocol.status import PLCStatus

POLL_INTERVAL = 1.0
ALARM_LIMIT = 500
CAUSE_TRIES, CAUSE_WAIT = 6, 0.5   # how long a Broken runtime's CRITICAL log is waited for


def _sleep(seconds: float):
    return task.deferLater(reactor, seconds, lambda: None)


class Watch:
    """One runtime under the gate: its baseline and the first problem seen, if any."""

    def __init__(self, plc_id: str):
        self.plc_id = plc_id
        self.problem = None
        self.last_tick = None
        self.moving = None          # whether the tick rose between the last two looks
        self.overruns = None
        self.criticals = None

    def fail(self, problem: str) -> None:
        if self.problem is None:
            self.problem = problem

    def tick(self, value) -> None:
        """A tick seen now; the PLC runs while it rises from one look to the next."""
        if isinstance(value, int):
            if self.last_tick is not None:
                self.moving = value > self.last_tick
            self.last_tick = value

    def check_overruns(self, value) -> None:
        if not isinstance(value, int):
            return
        if self.overruns is None:
            self.overruns = value
        elif value > self.overruns:
            self.fail(f"scan overruns rose from {self.overruns} to {value}")

    def check_criticals(self, value) -> None:
        if self.criticals is None:
            self.criticals = value
        elif value > self.criticals:
            self.fail("logged CRITICAL")


async def _cycle_stats(fleet, plc_id: str) -> dict:
    """A runtime's GetCycleStats; {} when it has none (a Beremiz runtime) or does not answer
    (its status says why)."""
    try:
        answer = await fleet.client(plc_id).connector.call("ExtendedCall", CYCLE_STATS_CALL, b"")
        stats = json.loads(bytes(answer) or b"{}")
    except Exception:
        return {}
    return stats if isinstance(stats, dict) else {}


async def _states(fleet, ids) -> dict:
    """{ID: (status, CRITICAL count, Broken cause, tick or None)}: from the registry's live
    table, or, without one, asked of each runtime."""
    try:
        rows = await fleet.ask_registry("runtimes")
    except registry_client.NoRegistry:
        rows = None
    except OperationFailed:
        rows = None
    if rows is not None:
        known = {row["id"]: row for row in rows}
        return {plc_id: (PLCStatus.parse(known[plc_id]["status"]),
                         known[plc_id]["log_counts"][LogLevel.CRITICAL],
                         known[plc_id].get("cause"), known[plc_id].get("tick"))
                for plc_id in ids if plc_id in known}
    outcomes = await fleet.status(ids, ask_each=True)
    return {o.plc_id: ((o.value.status, o.value.log_counts[LogLevel.CRITICAL], None, None)
                       if o.ok else (PLCStatus.DISCONNECTED, 0, o.error, None))
            for o in outcomes}


async def _new_alarms(fleet, ids, since: float) -> dict:
    """{ID: detail} of alarms raised on ``ids`` since ``since`` (registry); {} without one."""
    try:
        alarms = await fleet.ask_registry("alarms", False, None, ALARM_LIMIT)
    except (registry_client.NoRegistry, OperationFailed):
        return {}
    found = {}
    for alarm in alarms:
        if alarm["id"] in ids and alarm["raised_at"] >= since and alarm["id"] not in found:
            found[alarm["id"]] = f"alarm {alarm['alarm']} raised: {alarm['kind']} " \
                                 f"{alarm['detail'] or ''}".strip()
    return found


async def watch(fleet, ids, seconds: float, on_poll=None, interval: float = POLL_INTERVAL) -> dict:
    """{ID: problem or None} after watching ``ids`` for ``seconds`` (less once one failed: the
    wave has failed then). ``on_poll(elapsed, watches)`` after every look."""
    watches = {plc_id: Watch(plc_id) for plc_id in ids}
    started = time.time()
    polls = 0
    while True:
        polls += 1
        states, stats, alarms = await defer.gatherResults([
            defer.ensureDeferred(_states(fleet, ids)),
            defer.gatherResults([defer.ensureDeferred(_cycle_stats(fleet, plc_id))
                                 for plc_id in ids]),
            defer.ensureDeferred(_new_alarms(fleet, set(ids), started))], consumeErrors=True)
        for plc_id, answer in zip(ids, stats):
            one = watches[plc_id]
            status, criticals, cause, tick = states.get(plc_id, (PLCStatus.DISCONNECTED, 0,
                                                                 "unknown to the registry", None))
            if status != PLCStatus.STARTED:
                one.fail(f"status {status.value}" + (f": {cause}" if cause else ""))
            one.check_criticals(criticals)
            if plc_id in alarms:
                one.fail(alarms[plc_id])
            one.check_overruns(answer.get("overruns"))
            one.tick(answer.get("tick") if answer.get("tick") is not None else tick)
        elapsed = time.time() - started
        if on_poll:
            on_poll(elapsed, watches)
        if (elapsed >= seconds and polls > 1) or any(one.problem for one in watches.values()):
            break
        await _sleep(min(interval, max(0.1, seconds - elapsed)))
    for one in watches.values():
        if one.problem is None and one.moving is False:
            one.fail(f"its tick stopped advancing (at {one.last_tick})")
        if one.problem == f"status {PLCStatus.BROKEN.value}":   # no cause published: the log's
            one.problem += await _last_critical(fleet, one.plc_id, started)
    return {plc_id: one.problem for plc_id, one in watches.items()}


async def _last_critical(fleet, plc_id: str, since: float) -> str:
    """``: <text>`` of the runtime's newest CRITICAL log since ``since`` in the registry (which
    writes it a moment after the status changed: asked for a few seconds), "" without one."""
    for _ in range(CAUSE_TRIES):
        try:
            logs = await fleet.ask_registry("logs", plc_id, since, None,
                                            int(LogLevel.CRITICAL), 1)
        except (registry_client.NoRegistry, OperationFailed, ValueError):
            return ""
        if logs:
            return f": {logs[0]['text']}"
        await _sleep(CAUSE_WAIT)
    return ""
