"""Fixes for autobahn 26.10, applied by every process of the suite (clients, runtimes, router).

Autobahn's Twisted WebSocket protocols set TCP_NODELAY from ``self.tcpNoDelay`` before the
factory's options are copied onto the protocol, so the lookup fails, the error is swallowed
and Nagle's algorithm stays on: pipelined calls then stall up to 40 ms on delayed ACKs.
A class default makes the existing call work.

A session whose transport is lost leaves its outstanding requests (calls, publishes,
subscribes, ...) unanswered for ever, and cancelling one then fails on the missing transport:
a client whose router dropped the connection (a message over the router's size limit, a
router stopped) would hang. They now fail with TransportLost, saying why the link closed.
"""
from autobahn.twisted.websocket import WebSocketClientProtocol, WebSocketServerProtocol
from autobahn.wamp.exception import TransportLost
from autobahn.wamp.protocol import ApplicationSession

_REQUESTS = ("_call_reqs", "_publish_reqs", "_subscribe_reqs", "_unsubscribe_reqs",
             "_register_reqs", "_unregister_reqs")


def close_reason(transport) -> str:
    """Why a WebSocket link closed, in words: the peer's close code and reason when it gave one."""
    code = getattr(transport, "remoteCloseCode", None) or getattr(transport, "localCloseCode", None)
    reason = getattr(transport, "remoteCloseReason", None) or getattr(transport, "localCloseReason",
                                                                        None)
    if code is None:
        return "the connection to the router was lost"
    return f"the router closed the connection (WebSocket code {code}{f': {reason}' if reason else ''})"


def _failing_outstanding_requests(on_close):
    def onClose(self, wasClean):
        transport = self._transport
        on_close(self, wasClean)
        error = TransportLost(close_reason(transport))
        for name in _REQUESTS:
            requests = getattr(self, name, None) or {}
            pending = list(requests.values())
            requests.clear()
            for request in pending:
                if not request.on_reply.called:
                    request.on_reply.errback(error)
    onClose.patched = True
    return onClose


def apply() -> None:
    WebSocketClientProtocol.tcpNoDelay = True
    WebSocketServerProtocol.tcpNoDelay = True
    if not getattr(ApplicationSession.onClose, "patched", False):
        ApplicationSession.onClose = _failing_outstanding_requests(ApplicationSession.onClose)
