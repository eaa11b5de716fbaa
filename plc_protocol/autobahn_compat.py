"""A fix for autobahn 26.10, applied by every process of the suite (clients, runtimes, router).

Autobahn's Twisted WebSocket protocols set TCP_NODELAY from ``self.tcpNoDelay`` before the
factory's options are copied onto the protocol, so the lookup fails, the error is swallowed
and Nagle's algorithm stays on: pipelined calls then stall up to 40 ms on delayed ACKs.
A class default makes the existing call work.
"""
from autobahn.twisted.websocket import WebSocketClientProtocol, WebSocketServerProtocol


def apply() -> None:
    WebSocketClientProtocol.tcpNoDelay = True
    WebSocketServerProtocol.tcpNoDelay = True
