"""Joining the router as a client (IDE, fleet tools, dashboards' server side, tests).

A client session is one autobahn Component with no automatic reconnect: a tool that cannot
reach the router should say so at once, not retry silently. Credentials come from a file or
the environment (never the command line).
"""
import os

import yaml
from autobahn.twisted.component import Component
from twisted.internet import defer, reactor

from plc_protocol.errors import PLCUnreachable
from plc_protocol.wamp_conventions import DEFAULT_REALM, DEFAULT_URL
from plc_protocol.wamp_transport import CA_FILE_ENV, explain_connect_failure, transport_config

CREDENTIALS_ENV = "PLCLINK_CREDENTIALS"


NO_CREDENTIALS = "no router credentials: set PLCLINK_CREDENTIALS (see README)"


class CredentialsError(ValueError):
    pass


def load_credentials(path: str | None = None) -> dict:
    """Router credentials: PLCLINK_AUTHID + PLCLINK_SECRET / PLCLINK_TICKET, else the YAML
    file named by PLCLINK_CREDENTIALS (keys authid, secret or ticket, optional router, realm,
    ca_file)."""
    if os.environ.get("PLCLINK_AUTHID"):
        found = {"authid": os.environ["PLCLINK_AUTHID"], "secret": os.environ.get("PLCLINK_SECRET"),
                 "ticket": os.environ.get("PLCLINK_TICKET")}
    else:
        path = path or os.environ.get(CREDENTIALS_ENV)
        if not path:
            return {}
        try:
            with open(path, encoding="utf-8") as handle:
                found = yaml.safe_load(handle) or {}
        except (OSError, yaml.YAMLError) as error:
            raise CredentialsError(f"cannot read credentials file {path}: {error}") from None
        if not isinstance(found, dict):
            raise CredentialsError(f"credentials file {path} must be a mapping (authid, secret)")
        if isinstance(found.get("ca_file"), str):  # relative to the file, which travels with it
            found["ca_file"] = os.path.join(os.path.dirname(os.path.abspath(path)),
                                            os.path.expanduser(found["ca_file"]))
    if found.get("authid") and not (found.get("secret") or found.get("ticket")):
        raise CredentialsError(f"credentials for {found['authid']!r} have neither secret nor ticket")
    return {key: value for key, value in found.items() if value}


def authentication(credentials: dict) -> dict:
    if not credentials.get("authid"):
        return {}
    if credentials.get("ticket"):
        return {"ticket": {"authid": credentials["authid"], "ticket": credentials["ticket"]}}
    return {"wampcra": {"authid": credentials["authid"], "secret": credentials["secret"]}}


async def join(url: str = DEFAULT_URL, realm: str = DEFAULT_REALM, credentials: dict | None = None,
               serializers=("msgpack", "json"), timeout: float = 10, ca_file: str | None = None):
    """A joined session; raises PLCUnreachable with the router's reason when it cannot join,
    CredentialsError when no credentials were given and an anonymous session (only a --dev
    router takes one) did not work either, TransportError for a bad URL or CA file.
    For wss:// the router's certificate is verified against ``ca_file`` (or the credentials'
    ``ca_file``, or PLCLINK_CA_FILE, else the system's CAs)."""
    credentials = credentials or {}
    ca_file = ca_file or credentials.get("ca_file") or os.environ.get(CA_FILE_ENV)
    transport = transport_config(url, serializers, ca_file, max_retries=0)  # TransportError: input
    try:
        return await _join(transport, url, realm, credentials, timeout, ca_file)
    except PLCUnreachable as error:
        if credentials.get("authid"):
            raise
        raise CredentialsError(f"{NO_CREDENTIALS}; without them: {error}") from None


async def _join(transport, url, realm, credentials, timeout, ca_file):
    component = Component(transports=[transport], realm=realm,
                          authentication=authentication(credentials))
    joined = defer.Deferred()

    def on_join(session, details):
        if not joined.called:
            joined.callback(session)

    def on_leave(session, details):
        if not joined.called:
            joined.errback(PLCUnreachable(
                f"router {url} refused the session on realm {realm}: {details.message or details.reason}"))

    component.on("join", on_join)
    component.on("leave", on_leave)
    done = component.start(reactor)

    failures = []
    component.on("connectfailure", lambda component, error: failures.append(repr(error)))

    def ended(result):
        if not joined.called:
            reason = result.getErrorMessage() if hasattr(result, "getErrorMessage") else "connection closed"
            joined.errback(PLCUnreachable(explain_connect_failure(
                url, "; ".join(failures) or reason, ca_file)))
    done.addBoth(ended)
    joined.addTimeout(timeout, reactor)
    try:
        return await joined
    except defer.TimeoutError:
        raise PLCUnreachable(f"router {url} did not answer within {timeout:g} s") from None
