"""The audit trail: every control call the router's authorizer reports on ``plclink.audit``
is recorded, then judged by the runtime's status after it (ok, failed, unknown).

A mixin of registry.live.Registry.
"""
import time

from twisted.internet import reactor
from twisted.logger import Logger

from plc_protocol.methods import INSTALL_METHODS
from plc_protocol.status import PLCStatus

AUDIT_SETTLE = 10.0         # seconds a control call has to show its effect in the status
log = Logger()


def judge(method: str, before: dict, row: dict, final: bool) -> tuple | None:
    """(result, detail) of a control call from the runtime's status after it; None: not yet."""
    status = row["status"]
    detail = f"status {status}" + (f", md5 {row['md5']}" if method in INSTALL_METHODS else "")
    # a restart, a repair or a call on a PLC Broken before it (a transfer onto a Broken PLC)
    # is judged by what follows: only a Broken that stays is its failure
    judged_later = (method in ("RestartPLC", "RepairPLC")
                    or before.get("status") == PLCStatus.BROKEN.value)
    if status == PLCStatus.BROKEN.value and method != "StopPLC" and (final or not judged_later):
        return "failed", detail
    expected = {"StartPLC": status == PLCStatus.STARTED.value,
                "RestartPLC": status == PLCStatus.STARTED.value,
                "StopPLC": status == PLCStatus.STOPPED.value,
                "RepairPLC": status != PLCStatus.BROKEN.value,
                **dict.fromkeys(INSTALL_METHODS, row["md5"] != before["md5"] and status in (
                    PLCStatus.STOPPED.value, PLCStatus.STARTED.value)),
                }.get(method)
    if expected is None:
        return "unknown", "no status effect to check"
    if expected:
        return "ok", detail
    if not final:
        return None
    if method in INSTALL_METHODS and status in (PLCStatus.STOPPED.value, PLCStatus.STARTED.value):
        return "ok", detail + " (same md5 installed again)"
    return "failed", detail


class Audit:
    def __init__(self):
        self.pending = {}           # ID -> [control call awaiting its effect]
        super().__init__()

    def on_audit(self, *args, details=None, **call):
        if details is None or details.publisher_authrole != "authorizer":
            log.warn("ignored an audit event not published by the router's authorizer "
                     "(publisher role {role})", role=getattr(details, "publisher_authrole", None))
            return
        plc_id, method = call.get("id"), call.get("method")
        if not isinstance(plc_id, str) or not isinstance(method, str):
            return
        now = float(call.get("time") or time.time())
        row = self.touch(plc_id, now) if plc_id in self.runtimes else None
        record = {"seq": self.numbers["audit"], "time": now, "runtime_id": plc_id,
                  "method": method, "authid": call.get("authid"),
                  "authrole": call.get("authrole"), "result": "pending", "detail": None,
                  "result_at": None}
        self.numbers["audit"] += 1
        self.writer.put("audit", dict(record))
        self.forces.control_call(plc_id, method, record["authid"], now)
        before = dict(row) if row is not None else {"md5": None, "status": None}
        pending = {"seq": record["seq"], "method": method, "authid": record["authid"],
                   "before": before}
        self.pending.setdefault(plc_id, []).append(pending)
        self.check_pending(plc_id, final=False)
        reactor.callLater(AUDIT_SETTLE, self._settle, plc_id, pending)

    def _settle(self, plc_id, pending) -> None:
        if pending in self.pending.get(plc_id, ()):
            self.check_pending(plc_id, final=True, only=pending)

    def check_pending(self, plc_id, final: bool, only=None) -> None:
        row = self.runtimes.get(plc_id)
        for pending in list(self.pending.get(plc_id, ())):
            if only is not None and pending is not only:
                continue
            verdict = (judge(pending["method"], pending["before"], row, final) if row is not None
                       else ("failed", "runtime never seen") if final else None)
            if verdict is None:
                continue
            self.pending[plc_id].remove(pending)
            self.writer.put("audit_result", {"seq": pending["seq"], "result": verdict[0],
                                             "detail": verdict[1], "result_at": time.time()})
