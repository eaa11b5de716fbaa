"""Fixes for crossbar 26.10, applied inside the router worker when router.auth is loaded
(crossbar imports it before it opens any transport or router-to-router link): the testament
fix below, the uplink's back-off (below), autobahn's TCP_NODELAY fix
(plc_protocol/autobahn_compat.py) for the router's own connections, and the TLS policy
(router/tls_policy.py).

Crossbar publishes a session's testaments after its transport is gone; its dynamic authorizer
then reads ``session._transport.transport_details`` and fails, so the testament is dropped and
a runtime that vanished is never announced Disconnected. For such sessions we call the
authorizer ourselves with the same details and ``transport: None``.
"""
from autobahn.twisted.wamp import ApplicationRunner
from crossbar.router.role import RouterRoleDynamicAuth
from crossbar.worker import rlink

from plc_protocol import autobahn_compat
from router import tls_policy

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


# A plant's link to HQ retries 1 s growing by 1.5 up to this cap, plus up to 1 s of jitter.
# Crossbar's rlink takes autobahn's default policy, whose cap is 60 s, so a link came back up
# to a minute after HQ did; the cap is not configurable in crossbar's rlink config.
LINK_MAX_RETRY_DELAY = 10.0


class _LinkRunner(ApplicationRunner):
    """The runner crossbar's rlink uses for its remote leg, with the suite's back-off."""

    def __init__(self, url, realm=None, extra=None, **kwargs):
        super().__init__(url, realm, extra, **{
            "max_retries": -1, "initial_retry_delay": 1.0, "retry_delay_growth": 1.5,
            "max_retry_delay": LINK_MAX_RETRY_DELAY, "retry_delay_jitter": 1.0, **kwargs})
        # autobahn retries with these options only after one success; a plant may start
        # while HQ is away and must keep trying from its first attempt
        self._connect_successes = 1


def apply() -> None:
    RouterRoleDynamicAuth.authorize = _authorize
    rlink.ApplicationRunner = _LinkRunner
    autobahn_compat.apply()
    tls_policy.apply()
