"""Logs and variable values as records: ``<ID>.log`` events, and ``<ID>.values`` samples
decoded with the runtime's variable table (asked once per program with
``ExtendedCall("GetVariables")``).

A mixin of registry.live.Registry.
"""
import time

from twisted.internet import defer
from twisted.logger import Logger

from ide_component.variable_trace import read_variables
from plc_protocol.iec_types import decode_sample
from plc_protocol.log_levels import LogLevel
from registry.runtime_table import event_runtime

TABLE_RETRY = 5.0           # seconds between two asks for a variable table
NOT_TRENDED = ("STRING",)
log = Logger()


class LogsAndValues:
    def __init__(self):
        self.variables = {}         # (ID, name) -> {"var_id", "type"}
        self.next_var = 1
        self.tables = {}            # ID -> [(name, type, var_id or None)] in table order
        self.table_asked = {}       # ID -> when its table was last asked
        self.last_ms = {}           # var_id -> last sample time written
        super().__init__()

    def on_log(self, level, msg_id=None, text="", tick=None, *rest, details=None, **kwargs):
        plc_id = event_runtime(details)
        try:
            level = LogLevel.parse(level)
        except ValueError:
            return
        if plc_id is None:
            return
        now = time.time()
        self.touch(plc_id, now)
        self.writer.put("log", {"runtime_id": plc_id, "time": now, "level": int(level),
                                "msg_id": msg_id, "text": str(text), "tick": tick})
        if level == LogLevel.CRITICAL:
            self.critical_log(plc_id, msg_id, str(text), now)

    def on_values(self, tick, buffer=b"", *rest, details=None, **kwargs):
        plc_id = event_runtime(details)
        if plc_id is None:
            return
        now = time.time()
        self.touch(plc_id, now)
        if isinstance(tick, int):
            self.ticks[plc_id] = tick
        table = self.tables.get(plc_id)
        if table is None:
            self.ask_table(plc_id, now)
            return
        try:
            values = decode_sample([type_ for _, type_, _ in table], bytes(buffer))
        except ValueError:
            self.tables.pop(plc_id, None)   # the program changed under us: ask again
            self.ask_table(plc_id, now)
            return
        stamp = int(now * 1000)
        named = {}
        for (var_name, _, var_id), value in zip(table, values):
            if var_id is None:
                continue
            ms = max(stamp, self.last_ms.get(var_id, 0) + 1)
            self.last_ms[var_id] = ms
            number = float(value)
            self.writer.put("value", {"var_id": var_id, "ts": ms, "value": number})
            named[var_name] = number
        self.evaluate_rules(plc_id, named, now)

    def ask_table(self, plc_id, now) -> None:
        if self.fleet is None or now - self.table_asked.get(plc_id, 0) < TABLE_RETRY:
            return
        self.table_asked[plc_id] = now

        async def ask():
            try:
                variables = await read_variables(self.fleet.client(plc_id).connector)
            except Exception as error:
                log.warn("{id}: variable table not available, values not recorded yet: {error}",
                         id=plc_id, error=error)
                return
            self.set_table(plc_id, [(v.name, v.type) for v in variables])
        defer.ensureDeferred(ask())

    def set_table(self, plc_id, variables) -> None:
        """Give each trended variable its number (new ones are written before any sample)."""
        table = []
        for var_name, type_ in variables:
            known = self.variables.get((plc_id, var_name))
            if type_ in NOT_TRENDED:
                table.append((var_name, type_, None))
                continue
            if known is None:
                known = self.variables[(plc_id, var_name)] = {
                    "var_id": self.next_var, "runtime_id": plc_id, "name": var_name,
                    "type": type_}
                self.next_var += 1
                self.writer.put("variable", dict(known))
            elif known["type"] != type_:
                known["type"] = type_
                self.writer.put("variable_type", {"var_id": known["var_id"], "type": type_})
            table.append((var_name, type_, known["var_id"]))
        self.tables[plc_id] = table
