"""Variables by name: the table, tracing and forcing (protocol.md §4).

The runtime holds ONE traced-and-forced set, replaced as a whole by SetTraceVariablesList, and
does not report it back. So a client keeps its own view (what it traces, what it forced) and
always sends the union; forces made by another client, or by an earlier command-line run, are
lifted by the next set this client sends. That is the Beremiz IDE's behaviour too.

The table comes from the runtime (ExtendedCall GetVariables), or, for a runtime without one
(Beremiz's), from its build's VARIABLES.csv given by the user.
"""
import json
from dataclasses import dataclass

from twisted.internet import defer, task

from ide_component.connectors import LINK_CHECK_INTERVAL
from ide_component.failures import OperationFailed
from plc_protocol.beremiz_variables import read_variables_csv
from plc_protocol.errors import PLCObjectError
from plc_protocol.iec_types import decode_sample, encode, iec_type
from plc_protocol.methods import ENOSYS
from plc_protocol.status import PLCStatus
from plc_protocol.wamp_conventions import EVENT_TRACE
from plc_protocol.trace_limits import (DEBUG_SUSPENDED, FORCE_BUFFER_OVERFLOW,
                                       FORCE_LIST_OVERFLOW, INVALID_FORCE, TRACE_LIST_OVERFLOW)

TRACE_POLL_INTERVAL = 0.1   # well within the runtime's 3 s "consumer gone" limit
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
        answer = await connector.call("ExtendedCall", "GetVariables", b"")
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


def trace_orders(traced: list, forces: dict) -> list:
    """SetTraceVariablesList orders: every traced variable, with its force value if forced."""
    orders = []
    for variable in traced:
        force = b""
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
    """This client's traced-and-forced set on one runtime, and the sample feed behind traces.

    Listeners get ``on_sample(tick, {name: value})`` for the names they asked for and
    ``on_error(exception)`` once if the feed ends (another client took the set over, link lost).
    """

    def __init__(self, connector, table: list | None = None):
        self.connector = connector
        self._table = table     # None: asked from the runtime when first needed
        self._forces = {}       # name -> value
        self._listeners = []    # (variables, on_sample, on_error)
        self._sent = []         # variables in the order of the last set sent
        self._token = None
        self._sending = 0       # while a new set is on its way, samples may carry its token
        self._feed = None
        self._link_check = None

    async def table(self) -> list:
        if self._table is None:
            self._table = await read_variables(self.connector)
        return self._table

    @property
    def forces(self) -> dict:
        return dict(self._forces)

    async def force(self, values: dict) -> None:
        variables = find_variables(await self.table(), list(values))
        trace_orders(variables, values)   # check every value before changing anything
        self._forces.update(values)
        await self._send()

    async def release(self, names=None) -> None:
        """Lift the named forces (all when ``names`` is None); what listeners trace stays traced."""
        if names is None:
            self._forces.clear()
        else:
            find_variables(await self.table(), list(names))
            for name in names:
                self._forces.pop(name, None)
        await self._send()

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

    async def _send(self) -> None:
        wanted = [v for listener in self._listeners for v in listener[0]]
        wanted += [v for v in await self.table() if v.name in self._forces]
        unique = list({v.index: v for v in wanted}.values())
        self._sending += 1
        try:
            token = check_token(await self.connector.call(
                "SetTraceVariablesList", trace_orders(unique, self._forces)))
        finally:
            self._sending -= 1
        self._sent, self._token = unique, token

    async def _start_feed(self) -> None:
        if self._feed is not None:
            return
        subscription = self.connector.subscribe(EVENT_TRACE, self._on_event)
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
        if token == self._token:
            self._deliver(samples)
        elif token > self._token and not self._sending:
            self._end(OperationFailed(f"{self.connector.plc_id}: another client replaced the "
                                      "traced set; trace again"))

    async def _poll(self):
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
