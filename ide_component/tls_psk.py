"""TLS-PSK client connections (RFC 4279, TLS 1.2, PSK ciphers) for Twisted's TLS layer.

Python 3.11's ``ssl`` module has no PSK support and pyOpenSSL dropped its PSK methods, but the
OpenSSL that pyOpenSSL runs on (cryptography's bindings) still exports
``SSL_CTX_set_psk_client_callback``. Setting that one callback on a pyOpenSSL context is all
PSK needs; everything else (handshake, records, the memory BIO under the reactor) stays
Twisted's own ``TLSMemoryBIOFactory`` via :func:`twisted.internet.endpoints.wrapClientTLS`, so
ERPCS:// runs inside the reactor like ERPC://, with no extra dependency.
"""
from OpenSSL import SSL
from OpenSSL._util import ffi as _ffi, lib as _lib
from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
from zope.interface import implementer

PSK_CIPHERS = b"PSK"
_CALLBACK_TYPE = ("unsigned int (*)(SSL *, const char *, char *, unsigned int, "
                  "unsigned char *, unsigned int)")

# What OpenSSL says when the server rejects our identity or key, as the reason of a failed
# handshake: the caller turns these into "wrong PSK or unknown identity".
REFUSAL_REASONS = ("unknown psk identity", "decrypt error", "bad record mac", "handshake failure",
                   "decryption failed")


class TLSPSKUnavailable(RuntimeError):
    """This OpenSSL build cannot do TLS-PSK client connections."""


def is_psk_refusal(failure_value) -> bool:
    """Whether a lost TLS connection was a PSK refusal by the server."""
    return isinstance(failure_value, SSL.Error) and any(
        reason in str(failure_value).lower() for reason in REFUSAL_REASONS)


@implementer(IOpenSSLClientConnectionCreator)
class PSKClientConnectionCreator:
    """Client connections that offer ``identity`` and prove they hold ``secret``."""

    def __init__(self, identity: str, secret: str):
        if not getattr(_lib, "Cryptography_HAS_PSK", False):
            raise TLSPSKUnavailable("this OpenSSL build has no TLS-PSK support")
        self._identity = identity.encode("utf-8")
        self._psk = secret.encode("utf-8")  # the secret as written, not base64-decoded (§5)
        context = SSL.Context(SSL.TLS_METHOD)
        context.set_min_proto_version(SSL.TLS1_2_VERSION)
        context.set_max_proto_version(SSL.TLS1_2_VERSION)  # PSK ciphers of §5 are TLS 1.2
        context.set_cipher_list(PSK_CIPHERS)
        # Kept on self: OpenSSL holds only the C pointer, the cffi object must stay alive.
        self._callback = _ffi.callback(_CALLBACK_TYPE, self._give_psk, error=0)
        _lib.SSL_CTX_set_psk_client_callback(context._context, self._callback)
        self._context = context

    def _give_psk(self, ssl, hint, identity_out, max_identity_len, psk_out, max_psk_len):
        identity = self._identity + b"\0"
        if len(identity) > max_identity_len or len(self._psk) > max_psk_len:
            return 0  # OpenSSL then aborts the handshake
        _ffi.memmove(identity_out, identity, len(identity))
        _ffi.memmove(psk_out, self._psk, len(self._psk))
        return len(self._psk)

    def clientConnectionForTLS(self, tlsProtocol):
        connection = SSL.Connection(self._context, None)
        connection.set_app_data(tlsProtocol)
        return connection
