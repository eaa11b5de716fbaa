"""What a control call meant, for the audit journal.

Crossbar's authorizer sees who calls which procedure, never the arguments. What a call did is
told afterwards by the runtime and the registry, in events the router's audit component hears:
the force table ``<ID>.forces`` (each entry names who forced it, ``by``), the md5 in
``<ID>.status`` (a new program installed), the registry's ``on_alarm`` (who acknowledged).
This module turns those events into journal lines; a change an event does not attribute (a
release, an install) goes to the person whose matching call the authorizer saw last on that
runtime, shortly before.

Pure: events in, records (``who, what, id``) out; router/auth.py journals them.
"""
import json

from plc_protocol.methods import INSTALL_METHODS
from plc_protocol.status import PLCStatus

ATTRIBUTION_WINDOW = 120.0   # seconds a call may precede the change it caused
RELEASING = ("Release", *INSTALL_METHODS, "SetTraceVariablesList", "RepairPLC", "RestartPLC")


def value_text(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return json.dumps(value) if value is not None else "?"


def _variable(entry) -> str:
    return entry.get("name") or f"variable #{entry.get('index')}"


class Meanings:
    def __init__(self):
        self._forces = {}    # ID -> {index: entry}, the last table seen
        self._md5 = {}       # ID -> the last md5 seen
        self._calls = {}     # ID -> [(time, method, who)], newest last
        self._acked = set()  # alarm numbers whose acknowledgement is journaled

    def called(self, plc_id, method, who, now) -> None:
        calls = self._calls.setdefault(plc_id, [])
        calls.append((now, method, who))
        del calls[:-20]

    def _caller(self, plc_id, methods, now) -> str:
        for when, method, who in reversed(self._calls.get(plc_id, ())):
            if method in methods and now - when <= ATTRIBUTION_WINDOW:
                return who
        return "unknown"

    def forces(self, plc_id, entries, now) -> list:
        """Records for a new force table; the first table seen is the baseline."""
        table = {entry.get("index"): entry for entry in entries or () if isinstance(entry, dict)}
        before = self._forces.get(plc_id)
        self._forces[plc_id] = table
        if before is None:
            return []
        records = []
        for index, entry in table.items():
            old = before.get(index)
            if old is None or (old.get("value"), old.get("raw")) != (entry.get("value"),
                                                                     entry.get("raw")):
                records.append({"id": plc_id, "who": entry.get("by") or "unknown",
                                "what": f"forced {_variable(entry)} = "
                                        f"{value_text(entry.get('value'))}"})
        for index, old in before.items():
            if index not in table:
                records.append({"id": plc_id, "who": self._caller(plc_id, RELEASING, now),
                                "what": f"released {_variable(old)}"})
        return records

    def status(self, plc_id, state, md5, now) -> list:
        """A record when the runtime's program changed (the first md5 seen is the baseline);
        a Disconnected testament carries the md5 of when it was left: not a change."""
        if not md5 or state == PLCStatus.DISCONNECTED.value:
            return []
        before = self._md5.get(plc_id)
        self._md5[plc_id] = md5
        if before is None or before == md5:
            return []
        return [{"id": plc_id, "who": self._caller(plc_id, INSTALL_METHODS, now),
                 "what": f"installed {md5[:8]}… (was {before[:8]}…)"}]

    def alarm(self, document) -> list:
        if not isinstance(document, dict) or not document.get("acked_by") or \
                document.get("alarm") in self._acked:
            return []
        self._acked.add(document.get("alarm"))
        detail = f": {document['detail']}" if document.get("detail") else ""
        return [{"id": document.get("id"), "who": document["acked_by"],
                 "what": f"acknowledged alarm {document.get('alarm')} "
                         f"({document.get('kind')}{detail})"}]
