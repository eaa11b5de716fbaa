"""Variables by name: the table, tracing, forcing and writing (protocol.md §4,
docs/force-model.md, docs/forcing.md).

plclink's runtime and the bridge keep forces in the runtime and a traced list per session, so a
trace never lifts anyone's force. An upstream Beremiz runtime holds ONE traced-and-forced set,
replaced as a whole by SetTraceVariablesList and never reported back: towards it a client keeps
its own view and sends the union (the Beremiz IDE's behaviour too).

The table comes from the runtime (ExtendedCall GetVariables), or, for a runtime without one
(Beremiz's), from its build's VARIABLES.csv given by the user.
"""
import json
from dataclasses import dataclass

from twisted.internet import defer, reactor, task

from ide_component.connectors import LINK_CHECK_INTERVAL
from ide_component.failures import OperationFailed
from plc_protocol.beremiz_variables import read_variables_csv
from plc_protocol.errors import PLCObjectError, PLCUnreachable
from plc_protocol.extension_calls import VARIABLES_CALL
from plc_protocol.iec_types import coerce, decode_force, decode_sample, encode, iec_type
from plc_protocol.methods import ENOSYS
from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import EVENT_TRACE
from plc_protocol.trace_limits import (DEBUG_SUSPENDED, FORCE_BUFFER_OVERFLOW,
                                       FORCE_LIST_OVERFLOW, INVALID_FORCE, TRACE_LIST_OVERFLOW)

TRACE_POLL_INTERVAL = 0.1   # well within the runtime's 3 s "consumer gone" limit
ONE_CYCLE_WAIT = 5.0        # a write on an upstream runtime: how long one cycle may take
_TOKEN_ERRORS = {
    TRACE_LIST_OVERFLOW: "too many traced variables or too much trace data per cycle",
    FORCE_LIST_OVERFLOW: "too many forced variables",
    FORCE_BUFFER_OVERFLOW: "a force value has the wrong size for its type",
    INVALID_FORCE: "a variable index is not in the program's table",
    DEBUG_SUSPENDED: "no program is loaded, so there is nothing to trace",
}


class UnknownVariable(ValueError):
    pass


@dataclass(frozen=True)
class Variable:
    index: int
    name: str
    type: str

    def as_dict(self) -> dict:
        return {"index": self.index, "name": self.name, "type": self.type}


def parse_variable_table(answer: bytes) -> list:
    try:
        return [Variable(int(item["index"]), str(item["name"]), iec_type(item["type"]).name)
                for item in json.loads(answer)]
    except (ValueError, TypeError, KeyError) as error:
        raise OperationFailed(f"the runtime's variable table is not usable: {error}") from None


async def read_variables(connector) -> list:
    who = connector.plc_id or str(connector.uri)
    try:
        answer = await connector.call("ExtendedCall", VARIABLES_CALL, b"")
    except PLCObjectError as error:
        if error.code == ENOSYS:
            raise OperationFailed(f"{who}: this runtime has no variable table (a Beremiz "
                                  "runtime?); give --variables FILE, its build's "
                                  "VARIABLES.csv") from None
        raise OperationFailed(f"{who} does not report its variable table (ExtendedCall "
                              f"GetVariables: {error.message})") from None
    return parse_variable_table(answer)


def variables_from_file(path: str) -> list:
    """The table of a Beremiz build's VARIABLES.csv; VariablesFileError (a ValueError) says
    what is wrong with the file."""
    return [Variable(*entry) for entry in read_variables_csv(path)]


def find_variables(table: list, names) -> list:
    by_name = {variable.name: variable for variable in table}
    missing = [name for name in names if name not in by_name]
    if missing:
        known = ", ".join(v.name for v in table[:20]) + (", ..." if len(table) > 20 else "")
        raise UnknownVariable(f"no variable {', '.join(map(repr, missing))} in the program; "
                              f"it has: {known or 'no variables'} (see `plclink vars`)")
    return [by_name[name] for name in names]


def parse_assignment(text: str) -> tuple:
    """``NAME=VALUE`` from the command line; the value stays text until its type is known."""
    name, equals, value = text.partition("=")
    if not equals or not name.strip():
        raise ValueError(f"{text!r} is not NAME=VALUE")
    return name.strip(), value


def trace_orders(traced: list, forces: dict, not_forced=b"") -> list:
    """SetTraceVariablesList orders: every traced variable, with its force value if forced;
    ``not_forced``: None over WAMP (Beremiz's WAMP runtime takes b"" as a 0-byte force), an
    empty binary over eRPC (protocol.md §9)."""
    orders = []
    for variable in traced:
        force = not_forced
        if variable.name in forces:
            try:
                force = encode(variable.type, forces[variable.name], for_force=True)
            except ValueError as error:
                raise ValueError(f"cannot force {variable.name} ({variable.type}): {error}") from None
        orders.append((variable.index, force))
    return orders


def check_token(token: int) -> int:
    if token < 0:
        reason = _TOKEN_ERRORS.get(token, "unknown error")
        raise OperationFailed(f"SetTraceVariablesList refused ({token}): {reason}")
    return token


class DebugSession:
    """This client's traces on one runtime, its forces and writes, and the sample feed.

    On a runtime with the force model (plclink's runtime, the bridge) forces and writes are the
    runtime's own procedures and this client's traced list is its own session's. On a runtime
    that only speaks upstream (Beremiz's WAMP runtime, a Beremiz eRPC runtime reached directly)
    there is ONE traced-and-forced set, replaced whole by SetTraceVariablesList: this client then
    sends the union of what it traces and forces, with upstream's rules (protocol.md §9).

    Listeners get ``on_sample(tick, {name: value})`` for the names they asked for and
    ``on_error(exception)`` once if the feed ends (link lost, trace replaced).
    """

    def __init__(self, connector, table: list | None = None):
        self.connector = connector
        self._table = table     # None: asked from the runtime when first needed
        self._forces = {}       # upstream only: name -> value, this client's forces
        self._listeners = []    # (variables, on_sample, on_error)
        self._sent = []         # variables in the order of the last set sent
        self._token = None
        self._feed = None
        self._link_check = None
        self._model = None      # whether the runtime serves the force procedures (probed once)

    async def table(self) -> list:
        if self._table is None:
            self._table = await read_variables(self.connector)
        return self._table

    def _who(self) -> str:
        return self.connector.plc_id or str(self.connector.uri)

    async def has_force_model(self) -> bool:
        """Whether the runtime serves GetForces/Force/Release/Write (docs/force-model.md)."""
        if self._model is None:
            try:
                await self.connector.call("GetForces")
                self._model = True
            except PLCObjectError as error:
                if error.code != ENOSYS:
                    raise
                self._model = False
            except PLCUnreachable:
                if not _over_wamp(self.connector):
                    raise
                await self.connector.call("GetPLCstatus")   # there, but without the procedure
                self._model = False
        return self._model

    # --- forces -----------------------------------------------------------------------------------

    async def forces(self) -> list | None:
        """The runtime's force entries (docs/force-model.md), names filled from this client's
        table where the runtime has none; None where the runtime cannot report them."""
        if not await self.has_force_model():
            return None
        entries = await self.connector.call("GetForces")
        if any(entry.get("name") is None for entry in entries) and self._table is not None:
            by_index = {v.index: v for v in self._table}
            for entry in entries:
                variable = by_index.get(entry["index"])
                if entry.get("name") is None and variable is not None:
                    entry["name"], entry["type"] = variable.name, variable.type
                    try:
                        entry["value"] = decode_force(variable.type, bytes.fromhex(entry["raw"]))
                    except ValueError:
                        pass
        return entries

    async def force(self, values: dict) -> None:
        orders = await self._orders(values, "force")
        if await self.has_force_model():
            await self.connector.call("Force", orders)
            return
        self._forces.update(values)
        await self._send()

    async def release(self, names=None, restore: bool = False) -> None:
        """Lift the named forces (all when ``names`` is None); ``restore`` also puts back the
        values from before the forces. What listeners trace stays traced."""
        variables = None if names is None else find_variables(await self.table(), list(names))
        if await self.has_force_model():
            await self.connector.call(
                "Release", None if variables is None else [v.index for v in variables], restore)
            return
        if restore:
            raise OperationFailed(f"{self._who()}: an upstream Beremiz runtime does not keep the "
                                  "values from before a force, so --restore cannot work there; "
                                  "release, then write the value you want")
        # Upstream releases with a new non-empty list (ResetDebugVariables) and cannot keep
        # forces this client does not know of: every force of the runtime is lifted.
        self._forces.clear()
        await self._send(releasing=True)

    async def write(self, values: dict) -> None:
        """Set values once, as an HMI sets a setpoint: the program may overwrite them in its next
        cycle and nothing stays forced. Upstream only knows forces: force, let one cycle run,
        release (which there lifts every force)."""
        orders = await self._orders(values, "write")
        if await self.has_force_model():
            await self.connector.call("Write", orders)
            return
        self._forces.update(values)
        await self._send()
        await self._one_cycle()
        for name in values:
            self._forces.pop(name, None)
        await self._send(releasing=True)

    async def _orders(self, values: dict, verb: str) -> list:
        variables = find_variables(await self.table(), list(values))
        orders = []
        for variable in variables:
            try:
                orders.append({"index": variable.index,
                               "value": coerce(variable.type, values[variable.name])})
            except ValueError as error:
                raise ValueError(f"cannot {verb} {variable.name} ({variable.type}): "
                                 f"{error}") from None
        return orders

    async def _one_cycle(self) -> None:
        """Wait until the runtime has run a cycle with the set just sent (a sample of it)."""
        token = self._token
        deadline = reactor.seconds() + ONE_CYCLE_WAIT
        while reactor.seconds() < deadline:
            status, samples = await self.connector.call("GetTraceVariables", token)
            if samples:
                return
            if status != PLCStatus.STARTED:
                raise OperationFailed(f"{self._who()}: the PLC is {status.value}; a write needs "
                                      "a running cycle")
            await task.deferLater(reactor, TRACE_POLL_INTERVAL, lambda: None)
        raise OperationFailed(f"{self._who()}: no cycle ran within {ONE_CYCLE_WAIT:g} s to "
                              "apply the write; it was released again")

    # --- traces -----------------------------------------------------------------------------------

    async def listen(self, names, on_sample, on_error):
        listener = (find_variables(await self.table(), list(names)), on_sample, on_error)
        self._listeners.append(listener)
        try:
            await self._send()
            await self._start_feed()
        except Exception:
            self._listeners.remove(listener)
            raise
        return listener

    async def unlisten(self, listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)
            if not self._listeners:
                self._stop_feed()
            await self._send()

    async def _send(self, releasing: bool = False) -> None:
        """Send this client's set: what listeners trace (and, upstream, what it forces). An
        empty set ends the trace: -5 (DEBUG_SUSPENDED) is then success, as upstream answers."""
        wanted = [v for listener in self._listeners for v in listener[0]]
        model = await self.has_force_model()
        if not model and self._forces:
            wanted += [v for v in await self.table() if v.name in self._forces]
        unique = list({v.index: v for v in wanted}.values())
        not_forced = None if _over_wamp(self.connector) else b""
        orders = trace_orders(unique, {} if model else self._forces, not_forced)
        if releasing and not orders:   # upstream: only a non-empty list lifts forces
            orders = [(self._table[0].index if self._table else 0, not_forced)]
            await self._set(orders, unique)
            orders = []
        await self._set(orders, unique)

    async def _set(self, orders, unique) -> None:
        token = await self.connector.call("SetTraceVariablesList", orders)
        if not orders and token == DEBUG_SUSPENDED:
            self._sent, self._token = [], None
            return
        self._sent, self._token = unique, check_token(token)

    async def _start_feed(self) -> None:
        if self._feed is not None:
            return
        # Beremiz's WAMP runtime publishes no trace events: upstream runtimes are polled.
        subscription = self.connector.subscribe(EVENT_TRACE, self._on_event) \
            if await self.has_force_model() else None
        if subscription is not None:
            self._feed = await subscription
            self._link_check = self._loop(lambda: self.connector.call("GetPLCstatus"),
                                          LINK_CHECK_INTERVAL)
        else:
            self._feed = self._loop(self._poll, TRACE_POLL_INTERVAL)

    def _loop(self, function, interval) -> task.LoopingCall:
        loop = task.LoopingCall(function)
        loop.start(interval, now=False).addErrback(lambda failure: self._end(failure.value))
        return loop

    def _stop_feed(self) -> None:
        feed, self._feed = self._feed, None
        check, self._link_check = self._link_check, None
        for loop in (feed, check):
            if isinstance(loop, task.LoopingCall) and loop.running:
                loop.stop()
        if feed is not None and not isinstance(feed, task.LoopingCall) and feed.active:
            defer.maybeDeferred(feed.unsubscribe).addErrback(lambda _: None)

    def _on_event(self, token, samples, **_):
        """Every tracing session's samples come on this topic; ours carry our token."""
        if token == self._token:
            self._deliver(samples)

    async def _poll(self):
        if self._token is None:
            return
        status, samples = await self.connector.call("GetTraceVariables", self._token)
        if status == PLCStatus.BROKEN and not samples:
            self._end(OperationFailed(f"{self.connector.plc_id}: the trace ended: the PLC is "
                                      "Broken or another client replaced the traced set"))
        self._deliver(samples)

    def _deliver(self, samples) -> None:
        types = [v.type for v in self._sent]
        for tick, buffer in samples:
            try:
                decoded = decode_sample(types, bytes(buffer))
            except ValueError as error:
                self._end(OperationFailed(f"{self.connector.plc_id}: a trace sample does not "
                                          f"match the traced variables: {error}"))
                return
            values = dict(zip((v.name for v in self._sent), decoded))
            for variables, on_sample, _ in list(self._listeners):
                on_sample(tick, {v.name: values[v.name] for v in variables})

    def _end(self, error: Exception) -> None:
        listeners, self._listeners = self._listeners, []
        self._stop_feed()
        for _, _, on_error in listeners:
            on_error(error)


def _over_wamp(connector) -> bool:
    return str(connector.uri).upper().startswith("WAMP")
