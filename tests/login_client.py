"""Log in to a router from a chosen loopback source address (127.0.0.x), as a client on
another host would: the router's login throttle keys on the source address."""
from autobahn.twisted.component import Component
from twisted.internet import defer, reactor
from twisted.internet.endpoints import TCP4ClientEndpoint

from ide_component import reactor_thread
from ide_component.wamp_session import authentication


class Refused(Exception):
    pass


async def _login(port, realm, credentials, source, timeout):
    endpoint = TCP4ClientEndpoint(reactor, "127.0.0.1", port, timeout=timeout,
                                  bindAddress=(source, 0))
    component = Component(transports=[{"type": "websocket", "url": f"ws://127.0.0.1:{port}",
                                       "endpoint": endpoint, "serializers": ["json"],
                                       "max_retries": 0}],
                          realm=realm, authentication=authentication(credentials))
    joined = defer.Deferred()
    component.on("join", lambda session, details: joined.called or joined.callback(session))
    component.on("leave", lambda session, details: joined.called or joined.errback(
        Refused(details.message or details.reason)))
    done = component.start(reactor)
    done.addBoth(lambda result: joined.called or joined.errback(Refused("connection closed")))
    joined.addTimeout(timeout, reactor)
    return await joined


def login(port, realm, credentials, source="127.0.0.1", timeout=30.0):
    """A joined session (leave it with ``leave(session)``); raises Refused."""
    return reactor_thread.blocking(_login, port, realm, credentials, source, timeout)


def leave(session):
    if session.is_attached():
        reactor_thread.blocking(session.leave)
