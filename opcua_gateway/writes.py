"""An OPC UA client writing a variable node sets the variable once through ``<ID>.Write``.

A setpoint, not a force (force-model.md): the runtime applies it before its next cycle and the
program may overwrite it. The node keeps showing what the runtime publishes, so a client sees
the value take effect in ``<ID>.values``, never a value the PLC does not hold. The answer of
the write is the call's: Good once applied, BadUserAccessDenied for a user that may not write,
BadTypeMismatch/BadOutOfRange for a value that does not fit, BadNoCommunication when the
runtime cannot be reached. A person's write is made in their own router session
(person_sessions.py), so the router audits it under their name; a machine user's as this
gateway's principal. The gateway logs one line naming the OPC UA user either way.
"""
from asyncua import ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.address_space import AttributeService
from autobahn.wamp.exception import ApplicationError
from autobahn.wamp.types import CallOptions

from opcua_gateway.metrics import WRITES
from plc_protocol.errors import PLCObjectError, PLCUnreachable, from_wamp_error
from plc_protocol.methods import EINVAL
from plc_protocol.opcua_types import from_opcua
from plc_protocol.wamp_conventions import procedure

WRITE_METHOD = "Write"
WRITE_TIMEOUT = 10          # s; the runtime answers after its next cycle


def status_of_error(error: ApplicationError) -> int:
    """The OPC UA status code for a refused ``<ID>.Write``."""
    uri = error.error or ""
    known = from_wamp_error(uri, "")
    if isinstance(known, PLCUnreachable) or uri in (
            "wamp.error.no_such_procedure", "wamp.error.canceled", "wamp.error.timeout"):
        return ua.StatusCodes.BadNoCommunication
    if uri == "wamp.error.not_authorized":
        return ua.StatusCodes.BadUserAccessDenied
    if isinstance(known, PLCObjectError) and known.code == EINVAL:
        return ua.StatusCodes.BadOutOfRange
    return ua.StatusCodes.BadCommunicationError


class WritingAttributeService(AttributeService):
    """asyncua's attribute service, with writes to program variables sent to the runtime."""

    def __init__(self, aspace, gateway):
        super().__init__(aspace)
        self.gateway = gateway

    async def write(self, params: ua.WriteParameters, user: User = User(role=UserRole.Admin)):
        results = []
        for item in params.NodesToWrite:
            target = self.gateway.space.variable_at(item.NodeId) if self.gateway.space else None
            if target is None or item.AttributeId != ua.AttributeIds.Value:
                single = ua.WriteParameters(NodesToWrite=[item])
                results.extend(await super().write(single, user=user))
                continue
            results.append(ua.StatusCode(await self.gateway.write_variable(user, *target,
                                                                            item.Value)))
        return results


async def write_variable(session_for, wait, users, user: User, runtime, variable, data_value,
                         log):
    """The status code of one client write; ``session_for(name)`` gives the router session
    to write in (None: the router is away), ``wait(deferred)`` awaits a Twisted call."""
    code = await _write(session_for, wait, users, user, runtime, variable, data_value, log)
    WRITES.labels(ua.StatusCode(code).name).inc()
    return code


async def _write(session_for, wait, users, user: User, runtime, variable, data_value, log):
    who = user.name if user.name is not None else "anonymous"
    if user.role != UserRole.Admin and not users.may_write(user.name):
        log.warn("OPC UA user {who} may not write {id}.{name}: refused", who=who,
                 id=runtime.plc_id, name=variable.name)
        return ua.StatusCodes.BadUserAccessDenied
    try:
        value = from_opcua(variable.type, data_value.Value.Value if data_value.Value else None)
    except (TypeError, ValueError):
        return ua.StatusCodes.BadTypeMismatch
    try:
        session = await session_for(user.name)
    except PLCUnreachable as error:
        log.warn("OPC UA user {who}: write {id}.{name} refused: {error}", who=who,
                 id=runtime.plc_id, name=variable.name, error=error)
        return ua.StatusCodes.BadUserAccessDenied
    if session is None:
        return ua.StatusCodes.BadNoCommunication
    try:
        await wait(session.call(procedure(runtime.plc_id, WRITE_METHOD),
                                [{"index": variable.index, "value": value}],
                                options=CallOptions(timeout=WRITE_TIMEOUT)))
    except ApplicationError as error:
        log.warn("OPC UA user {who}: write {id}.{name} = {value!r} refused: {error}", who=who,
                 id=runtime.plc_id, name=variable.name, value=value, error=error.error)
        return status_of_error(error)
    log.info("OPC UA user {who} wrote {id}.{name} = {value!r}", who=who, id=runtime.plc_id,
             name=variable.name, value=value)
    return ua.StatusCodes.Good

