"""The router's TLS policy: TLS 1.3, and TLS 1.2 with AEAD ciphers and forward secrecy only
(``--tls-min-version 1.2``, the default) for the SCADA clients, HMIs and engineering PCs that
speak no 1.3. Never TLS 1.0 or 1.1.

Crossbar 26.10 builds every TLS listener for TLS 1.3 alone and ignores the endpoint's
``ciphers`` (its #2325). ``apply()``, run inside the router worker (router/crossbar_compat.py),
keeps crossbar's certificate loading and hardening and changes one thing: a listener whose
rendered ``tls`` has ``ciphers`` also accepts TLS 1.2, with exactly those ciphers. TLS 1.3's
own suites (AES-GCM, ChaCha20-Poly1305, all with ephemeral key exchange) are OpenSSL's.
"""
MIN_VERSIONS = ("1.2", "1.3")
DEFAULT_MIN_VERSION = "1.2"
# ECDHE key exchange (forward secrecy) and AEAD encryption; both certificate kinds.
TLS12_CIPHERS = ":".join([
    "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
    "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
])


def endpoint_tls(certificate: str, key: str, min_version: str) -> dict:
    """The ``tls`` of a rendered listening endpoint."""
    tls = {"certificate": certificate, "key": key}
    if min_version == "1.2":
        tls["ciphers"] = TLS12_CIPHERS
    return tls


def apply() -> None:
    """Crossbar's TLS listeners follow the rendered policy (imported here: the CLI renders
    configs without loading crossbar)."""
    from crossbar.common.twisted import endpoint
    from twisted.internet._sslverify import TLSVersion
    from twisted.internet.ssl import AcceptableCiphers, CertificateOptions

    upstream = endpoint._create_tls_server_context

    def server_context(config, cbdir, log):
        ciphers = config.get("ciphers")
        rest = {name: value for name, value in config.items() if name != "ciphers"}
        if not ciphers:
            return upstream(rest, cbdir, log)

        def options(**kwargs):
            kwargs["raiseMinimumTo"] = TLSVersion.TLSv1_2
            kwargs["acceptableCiphers"] = AcceptableCiphers.fromOpenSSLCipherString(ciphers)
            return CertificateOptions(**kwargs)

        # crossbar's function names CertificateOptions once; the reactor runs one at a time
        endpoint.CertificateOptions = options
        try:
            return upstream(rest, cbdir, log)
        finally:
            endpoint.CertificateOptions = CertificateOptions

    if not getattr(upstream, "plclink_policy", False):   # applied once per process
        server_context.plclink_policy = True
        endpoint._create_tls_server_context = server_context
