"""Staged rollouts: canaries, then waves, each held at a health gate (health_gate.py); a wave
that fails is rolled back to each runtime's previous program from the registry's store, and the
rollout stops there, the runtimes not reached untouched.

Every step is recorded in the registry as it happens (``rollout_begin``, ``rollout_update``;
registry/API.md "Rollouts"), with a heartbeat, so a rollout whose IDE died is seen as
interrupted and can be resumed (the wave in progress is installed again, which skips runtimes
that have the program already, and held at its gate again) or aborted (the wave in progress is
rolled back). The runtimes themselves never wait on the IDE: each install on a Started PLC is
the runtime's own stop, install, start (transfer.py), so a killed IDE leaves every PLC Started
on its old or its new program.
"""
import time

from twisted.internet import defer, task

from ide_component import health_gate, registry_client
from ide_component.failures import OperationFailed
from ide_component.fleet import outcome_of
from ide_component.rollout_plan import (RolloutOptions, file_changes, make_plan,
                                        runtime_entry)
from plc_protocol.status import PLCStatus

HEARTBEAT = 5.0     # seconds between two records of a running rollout
STALE = 30.0        # a running rollout not heard of this long was interrupted


class Aborted(OperationFailed):
    """The rollout was aborted from elsewhere (``fleet rollouts abort``)."""


def interrupted(rollout: dict, now: float | None = None) -> bool:
    return rollout["state"] == "running" and \
        (now or time.time()) - rollout["updated_at"] > STALE


async def stored_files(fleet, md5: str) -> dict | None:
    """{name: bytes} of a stored program set ("" the program); None when not stored."""
    try:
        stored = await fleet.ask_registry("program", md5)
    except ValueError:
        return None
    return {"": bytes(stored["program"]), **{name: bytes(data)
                                             for name, data in stored["extras"]}}


async def plan_rollout(fleet, ids, transfer_plan, program_name: str, options: RolloutOptions,
                       selector: str | None) -> dict:
    """The plan (rollout_plan.make_plan) for ``ids`` from the registry's live table and store."""
    rows = {row["id"]: row for row in await fleet.ask_registry("runtimes")}
    new_files = {"": b"".join(transfer_plan.program.chunks),
                 **{blob.name: b"".join(blob.chunks) for blob in transfer_plan.extras}}
    old_sets = {}
    for md5 in {rows[plc_id]["md5"] for plc_id in ids if plc_id in rows and rows[plc_id]["md5"]}:
        old_sets[md5] = await stored_files(fleet, md5)
    stored = {md5 for md5, files in old_sets.items() if files is not None}
    entries = [runtime_entry(plc_id, rows.get(plc_id), transfer_plan.md5, stored,
                             file_changes(old_sets.get((rows.get(plc_id) or {}).get("md5")),
                                          new_files))
               for plc_id in ids]
    return make_plan(entries, transfer_plan.md5, program_name, options.check(), selector)


class Rollout:
    def __init__(self, fleet, number: int, record: dict, transfer_plan, report=None):
        self.fleet = fleet
        self.number = number
        self.plan = record["plan"]
        self.transfer_plan = transfer_plan
        self.report = report or (lambda line: None)
        self.state, self.note = "running", None
        self.previous = {entry["id"]: entry["from"] for entry in self.plan["runtimes"]}

    @classmethod
    async def begin(cls, fleet, plan: dict, transfer_plan, report=None) -> "Rollout":
        """Store the new program set (so that a resume finds it) and record the rollout."""
        if await registry_client.keep_program(fleet.session, transfer_plan, []) is None:
            raise OperationFailed("the registry did not keep the program set; a rollout needs "
                                  "it (see the warning above)")
        record = await fleet.ask_registry("rollout_begin", plan)
        return cls(fleet, record["rollout"], record, transfer_plan, report)

    @classmethod
    async def load(cls, fleet, number: int, action: str, report=None) -> "Rollout":
        """A recorded rollout to resume or abort: one still running (not ``interrupted``) is
        left to its IDE."""
        record = await fleet.ask_registry("rollout", number)
        if record["state"] != "running":
            raise ValueError(f"rollout {number} is {record['state']}: only an interrupted "
                             f"rollout can be {action}ed")
        if not interrupted(record):
            age = time.time() - record["updated_at"]
            raise ValueError(f"rollout {number} is running (recorded {age:.0f} s ago): an IDE "
                             f"is at work on it; wait until it has not been heard of for "
                             f"{STALE:.0f} s")
        transfer_plan = await fleet.stored_plan(record["plan"]["md5"])
        return cls(fleet, number, record, transfer_plan, report)

    async def save(self) -> dict:
        record = await self.fleet.ask_registry("rollout_update", self.number, self.state,
                                               self.plan["waves"], self.note)
        if record["state"] == "aborted" and self.state != "aborted":
            raise Aborted(f"rollout {self.number} was aborted: {record.get('note') or ''}")
        return record

    async def run(self) -> dict:
        """Every wave not passed yet, in order; the final record."""
        heartbeat = task.LoopingCall(lambda: defer.ensureDeferred(self.save()).addErrback(
            lambda failure: None))
        heartbeat.start(HEARTBEAT, now=False)
        try:
            await self.save()
            for wave in self.plan["waves"]:
                if wave["state"] == "passed":
                    continue
                if wave["state"] == "failed":      # its IDE died rolling it back: finish that
                    await self.roll_back(wave, self._reached(wave))
                elif wave["state"] != "rolled back":
                    await self.wave(wave)
                if wave["state"] != "passed":
                    self.state = "failed"
                    self.note = f"wave {wave['wave']} failed its gate and was rolled back"
                    break
            else:
                self.state = "passed"
        except Aborted:
            raise
        except Exception as error:   # the record stays running: resume or abort it
            raise OperationFailed(
                f"rollout {self.number} stopped: {error}; every PLC runs its old or new program; "
                f"see `plclink fleet rollouts show {self.number}`, then resume or abort it "
                "once it shows interrupted") from None
        finally:
            heartbeat.stop()
        return await self.save()

    async def wave(self, wave: dict) -> None:
        ids = wave["ids"]
        label = f"wave {wave['wave']}{' (canary)' if wave['canary'] else ''}"
        wave["state"] = "installing"
        self.report(f"{label}: installing on {', '.join(ids)}")
        await self.save()
        outcomes = await self.fleet.deploy_plan(ids, self.transfer_plan, start=True)
        problems, reached = {}, []
        for outcome in outcomes:
            if outcome.ok:
                reached.append(outcome.plc_id)
                wave["results"][outcome.plc_id] = ("already had it" if outcome.value.skipped
                                                   else "deployed")
            elif outcome.kind == "unreachable":
                wave["results"][outcome.plc_id] = f"skipped: unreachable, untouched " \
                                                  f"({outcome.error})"
            else:
                reached.append(outcome.plc_id)
                problems[outcome.plc_id] = f"install failed: {outcome.error}"
        if not problems and reached:
            wave["state"] = "gating"
            self.report(f"{label}: gate of {self.plan['gate_seconds']:g} s on "
                        f"{', '.join(reached)}")
            await self.save()
            verdict = await health_gate.watch(self.fleet, reached, self.plan["gate_seconds"])
            problems = {plc_id: problem for plc_id, problem in verdict.items() if problem}
        if not problems:
            wave["state"] = "passed"
            self.report(f"{label}: passed")
            return
        for plc_id, problem in problems.items():
            wave["results"][plc_id] = f"failed: {problem}"
        wave["state"] = "failed"
        self.report(f"{label}: failed ({'; '.join(f'{k}: {v}' for k, v in problems.items())}); "
                    "rolling back")
        await self.save()
        await self.roll_back(wave, reached)

    @staticmethod
    def _reached(wave: dict) -> list:
        """The runtimes of a wave the rollout may have installed on (all but those skipped)."""
        return [plc_id for plc_id in wave["ids"]
                if not wave["results"].get(plc_id, "").startswith("skipped")]

    async def roll_back(self, wave: dict, ids) -> None:
        """Each runtime of ``ids`` back on its previous program, Started."""
        outcomes = await defer.gatherResults([
            defer.ensureDeferred(outcome_of(plc_id, lambda p=plc_id: self._restore(p)))
            for plc_id in ids])
        for outcome in outcomes:
            before = wave["results"].get(outcome.plc_id, "deployed")
            wave["results"][outcome.plc_id] = (
                f"{before}; rolled back to {self.previous[outcome.plc_id]}" if outcome.ok else
                f"{before}; ROLLBACK FAILED: {outcome.error}")
        wave["state"] = "rolled back"
        self.report(f"wave {wave['wave']}: rolled back")

    async def _restore(self, plc_id: str):
        md5 = self.previous[plc_id]
        if md5 is None:
            raise OperationFailed("it had no program before the rollout; stop it or deploy one")
        result = await self.fleet.rollback(plc_id, md5, keep_running=True)
        if result.status != PLCStatus.STARTED:
            await self.fleet.client(plc_id).start()
        return result

    async def abort(self, note: str) -> dict:
        """Stop here: the runtimes of a wave in progress go back to their previous program."""
        for wave in self.plan["waves"]:
            if wave["state"] in ("installing", "gating", "failed"):
                await self.roll_back(wave, self._reached(wave))
        self.state, self.note = "aborted", note
        return await self.save()
