"""The IDE's side of the registry (``plclink registry``): asking it, and handing it every
program set the IDE installed, so that history, diff and rollback have the bytes.

A realm without a registry is normal: asking raises NoRegistry, keeping a program does nothing.
The registry being down or failing never fails a transfer.
"""
from autobahn.wamp.exception import ApplicationError
from twisted.internet import defer, reactor
from twisted.logger import Logger

from ide_component.failures import OperationFailed
from plc_protocol.errors import PLCUnreachable
from plc_protocol.wamp_conventions import ROUTER_MESSAGE_LIMIT
from plc_protocol import registry_names as api

NO_SUCH_PROCEDURE = "wamp.error.no_such_procedure"
ANSWER_TIMEOUT = 15.0   # a registry that hangs must not hold the IDE
# A program set goes to the registry in one call: past this the router would close the IDE's
# connection, taking the operation in progress with it.
STORABLE = ROUTER_MESSAGE_LIMIT - 1024 * 1024
log = Logger()


class NoRegistry(PLCUnreachable):
    """No ``plclink registry`` on this realm."""


async def ask(session, short: str, *args, **kwargs):
    try:
        return await session.call(api.name(short), *args, **kwargs).addTimeout(ANSWER_TIMEOUT,
                                                                               reactor)
    except defer.TimeoutError:
        raise OperationFailed(f"the registry did not answer {short} within "
                              f"{ANSWER_TIMEOUT:.0f} s") from None
    except ApplicationError as error:
        message = error.args[0] if error.args else error.error
        if error.error == NO_SUCH_PROCEDURE:
            raise NoRegistry("no registry on this realm: start `plclink registry` (plclink up "
                             "runs one) to keep history") from None
        if error.error in (api.ERROR_NOT_FOUND, api.ERROR_INVALID):
            raise ValueError(message) from None
        raise OperationFailed(f"registry: {message}") from None


def plan_files(plan) -> tuple:
    """(program bytes, [[name, bytes], ...]) of a transfer plan, as the registry stores them."""
    return (b"".join(plan.program.chunks),
            [[blob.name, b"".join(blob.chunks)] for blob in plan.extras])


async def keep_program(session, plan, ids) -> str | None:
    """Store a program set just installed on runtimes ``ids`` in the registry; its md5, or
    None without a registry."""
    program, extras = plan_files(plan)
    size = len(program) + sum(len(data) for _, data in extras)
    if size > STORABLE:
        log.warn("program {md5} is not kept in the registry: {mib:.1f} MiB is over the router's "
                 "one-message limit ({limit} MiB); it cannot be rolled back to",
                 md5=plan.md5, mib=size / 2**20, limit=ROUTER_MESSAGE_LIMIT // 2**20)
        return None
    try:
        answer = await ask(session, "store_program", program, extras, list(ids))
    except NoRegistry:
        return None
    except Exception as error:   # the install happened; the registry's trouble is not ours
        log.warn("the registry did not store program {md5}: {error}", md5=plan.md5, error=error)
        return None
    return answer["md5"]
