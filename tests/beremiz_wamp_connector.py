"""The Beremiz IDE's WAMP connector (upstream connectors/WAMP/__init__.py), as it joins: an
``ApplicationSession`` whose default ``onConnect`` joins the realm with no authentication
(anonymous), over autobahn's ``WampWebSocketClientFactory`` with msgpack, started with
``connectWS``; calls are ``<ID>.<Method>``. Autobahn's client sends no Origin header.

Two things upstream does not do, for the router's door tests: choosing the source address
(``source``, standing for another host on 127.0.0.0/8) and, to play a web page, an Origin.
"""
from autobahn.twisted import wamp
from autobahn.twisted.websocket import WampWebSocketClientFactory, connectWS
from autobahn.wamp import types
from autobahn.wamp.serializer import MsgPackSerializer
from twisted.internet import defer

from ide_component import reactor_thread


class Refused(Exception):
    """The router ended the session before it joined; args: (reason URI, message)."""


def _connect(url, realm, plc_id, source, origin):
    joined = defer.Deferred()

    class WampSession(wamp.ApplicationSession):   # upstream's, reporting instead of printing
        def onJoin(self, details):
            if not joined.called:
                joined.callback((self, details))

        def onLeave(self, details):
            if not joined.called:
                joined.errback(Refused(details.reason, details.message))
            super().onLeave(details)

    session_factory = wamp.ApplicationSessionFactory(
        config=types.ComponentConfig(realm=realm, extra={"ID": plc_id}))
    session_factory.session = WampSession
    transport_factory = WampWebSocketClientFactory(
        session_factory, url=url, serializers=[MsgPackSerializer()], origin=origin)

    def lost(reason):   # a refused handshake: the transport closes before any session
        if not joined.called:
            joined.errback(Refused("transport", str(reason)))
    transport_factory.clientConnectionFailed = lambda connector, reason: lost(reason)
    transport_factory.clientConnectionLost = lambda connector, reason: lost(reason)
    connectWS(transport_factory, bindAddress=(source, 0))
    return joined


def join(url: str, realm: str, plc_id: str, source: str = "127.0.0.1", origin: str | None = None):
    """(session, details) once joined; Refused when the router will not have it."""
    return reactor_thread.blocking(_connect, url, realm, plc_id, source, origin, timeout=30)


def call(session, procedure, *args):
    return reactor_thread.blocking(session.call, procedure, *args, timeout=15)


def leave(session):
    if session.is_attached():
        reactor_thread.blocking(session.leave)
