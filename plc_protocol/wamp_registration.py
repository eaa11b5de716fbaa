"""Registering a component's procedures when its session joins, whole or not at all.

Autobahn logs and swallows an exception raised in a join handler, leaving the session joined: a
runtime whose registrations failed halfway stayed on the router for ever without its
procedures ("no runtime ... on realm"). The usual failure is a race, not a refusal: a runtime
that drops its link (a ping timeout while a restarted router is busy with a thousand joins)
joins again at once, and the router has not yet cleaned up the session it replaces, which
still holds ``<ID>.<Method>`` (``procedure_already_exists``). So a name still held is tried
again for a while; if it stays held, or anything else fails, what was registered is given back
and the error raised, for the caller to drop the link and join again later.
"""
from autobahn.wamp.exception import ApplicationError
from twisted.internet import reactor, task

OLD_SESSION_WAIT = 10.0     # seconds a router may take to clean up the session we replace
RETRY_INTERVAL = 0.5


async def register_all(session, procedures, wait: float = OLD_SESSION_WAIT) -> list:
    """``procedures``: (endpoint, uri, RegisterOptions or None) in order. The registrations,
    all of them; raises the last error when one name cannot be had within ``wait``."""
    registrations = []
    deadline = reactor.seconds() + wait
    try:
        for endpoint, uri, options in procedures:
            while True:
                try:
                    registrations.append(await session.register(endpoint, uri, options=options))
                    break
                except ApplicationError as error:
                    if (error.error != ApplicationError.PROCEDURE_ALREADY_EXISTS
                            or reactor.seconds() >= deadline):
                        raise
                await task.deferLater(reactor, RETRY_INTERVAL, lambda: None)
    except BaseException:
        await unregister_all(registrations)
        raise
    return registrations


async def unregister_all(registrations) -> None:
    for registration in registrations:
        if registration.active:
            try:
                await registration.unregister()
            except Exception:   # the session is gone: so are its registrations
                pass
