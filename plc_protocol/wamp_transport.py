"""How every component reaches the router: autobahn transport settings from a ws:// or wss://
URL, with the router certificate verified against a CA file for wss:// (WAMPS).

Builds the dict autobahn's Component takes, so the runtime, the bridge and the IDE connect the
same way; a CA file is read once here, so a wrong one is named before any connection.
"""
import os
from urllib.parse import urlsplit

from plc_protocol.wamp_conventions import SERIALIZERS

CA_FILE_ENV = "PLCLINK_CA_FILE"
# Where each program takes that CA from: the IDE (CLI and library) has no option for it.
CA_HOW = (f"{CA_FILE_ENV}=FILE or 'ca_file:' in the credentials file for the IDE, --ca-file FILE "
          "for plclink runtime, bridge, registry and opcua")
# Reconnect back-off of the long-lived components (runtime, bridge): 1 s growing by 1.5 up to
# this cap, so a component is back within 10 s of the router's return however long the outage
# was (cap + a join). Autobahn applies the jitter before the cap, so a wide one keeps spreading
# a fleet's reconnections after a router restart, even at the cap.
MAX_RETRY_DELAY = 5.0


def reconnect_options(max_retry_delay: float = MAX_RETRY_DELAY) -> dict:
    """Autobahn transport keys for retrying for ever; ``max_retry_delay`` can only lower the cap."""
    return {"max_retries": -1, "initial_retry_delay": 1.0, "retry_delay_growth": 1.5,
            "retry_delay_jitter": 0.3, "max_retry_delay": min(max_retry_delay, MAX_RETRY_DELAY)}


# How long a lost session waits before it is reported: see report_left.
LEFT_REPORT_DELAY = 0.5


def left_reporter(reactor):
    """``report(routine, outage)``: calls one of two log functions a moment after a session
    ended. When the router and this process are stopped together (plclink up, compose down),
    the router's loss can arrive before this process has taken its own signal; by then the stop
    is known and the loss is routine (or the process is gone and says so itself)."""
    stopping = []
    reactor.addSystemEventTrigger("before", "shutdown", stopping.append, True)

    def report(routine, outage) -> None:
        reactor.callLater(LEFT_REPORT_DELAY, lambda: (routine if stopping else outage)())
    return report


class TransportError(ValueError):
    pass


def transport_config(url: str, serializers=SERIALIZERS, ca_file: str | None = None, **options) -> dict:
    """``options``: autobahn transport keys (max_retries, max_retry_delay, options, ...).

    Every connection of the suite is configured here first, so this is where autobahn's fixes
    are applied (not at import: the command line's help imports this module's constants)."""
    from plc_protocol import autobahn_compat
    autobahn_compat.apply()
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise TransportError(f"router URL {url!r} must look like ws://host:port or wss://host:port")
    config = {"type": "websocket", "url": url, "serializers": list(serializers), **options}
    if parts.scheme == "wss":
        ca_file = ca_file or os.environ.get(CA_FILE_ENV)
        tls = {"hostname": parts.hostname}
        if ca_file:
            check_ca_file(ca_file)
            tls["trust_root"] = ca_file
        config["endpoint"] = {"type": "tcp", "host": parts.hostname, "port": parts.port or 443,
                              "tls": tls}
    return config


def check_ca_file(path: str) -> None:
    """Refuse, naming the file, a CA file that cannot verify anything: missing, not PEM, or
    holding no CA certificate (a server's own certificate is the usual mix-up)."""
    from cryptography import x509
    hint = f"give the CA certificate that signed the router's ('plclink certs' writes ca.pem): {CA_HOW}"
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as error:
        raise TransportError(f"CA file {path} cannot be read ({error.strerror}); {hint}") from None
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError:
        raise TransportError(f"CA file {path} holds no PEM certificate; {hint}") from None
    if not any(_is_ca(certificate) for certificate in certificates):
        raise TransportError(f"CA file {path} holds no CA certificate (a server's certificate?); "
                             f"{hint}")


def _is_ca(certificate) -> bool:
    from cryptography import x509
    try:
        return certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:  # an old-style (v1) CA is at least self-signed
        return certificate.issuer == certificate.subject


def explain_connect_failure(url: str, message: str, ca_file: str | None = None) -> str:
    """A connection failure in words an operator can act on."""
    if "certificate verify failed" in message or "CERTIFICATE_VERIFY_FAILED" in message:
        source = f"CA file {ca_file}" if ca_file else "the system's trusted CAs"
        return (f"the router at {url} presented a certificate that {source} does not trust "
                f"(wrong CA file, or a different router); give the router's CA: {CA_HOW}")
    if "hostname" in message.lower() and "mismatch" in message.lower():
        return (f"the certificate of the router at {url} is not valid for that host name; "
                "connect with a name listed in the certificate")
    return f"cannot reach router {url}: {message}"
