"""Fixes for crossbar 26.10, applied inside the router worker when router.auth is loaded
(crossbar imports it before it opens any transport): the testament fix below, and autobahn's
TCP_NODELAY fix (plc_protocol/autobahn_compat.py) for the router's own connections.

Crossbar publishes a session's testaments after its transport is gone; its dynamic authorizer
then reads ``session._transport.transport_details`` and fails, so the testament is dropped and
a runtime that vanished is never announced Disconnected. For such sessions we call the
authorizer ourselves with the same details and ``transport: None``.
"""
from crossbar.router.role import RouterRoleDynamicAuth

from plc_protocol import autobahn_compat

_upstream_authorize = RouterRoleDynamicAuth.authorize


def _authorize(self, session, uri, action, options):
    details = getattr(session, "_session_details", None)
    if details is not None and getattr(session, "_transport", None) is None:
        return self._session.call(self._authorizer, {
            "session": details.session, "authid": details.authid, "authrole": details.authrole,
            "authmethod": details.authmethod, "authprovider": details.authprovider,
            "authextra": details.authextra, "transport": None,
        }, uri, action, options)
    return _upstream_authorize(self, session, uri, action, options)


def apply() -> None:
    RouterRoleDynamicAuth.authorize = _authorize
    autobahn_compat.apply()
