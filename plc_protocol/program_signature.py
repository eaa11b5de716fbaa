"""Signed programs: an engineer's Ed25519 signature over a program's identity, carried as one
more extra file, checked by a runtime that trusts a set of public keys.

What is signed is ``program_identity`` (program_identity.py) of the program and every extra
file but the signature itself, so no file can be changed, added or removed without breaking
it, whatever md5 the installation travels under (a Beremiz build keeps its own). The message is
prefixed so that a signature made for a program means nothing anywhere else.

Files (one JSON object each; PyNaCl does the cryptography):

    NAME.key        {"signer": NAME, "secret_key": <hex seed>}     mode 600, stays with NAME
    NAME.pub        {"signer": NAME, "public_key": <hex>}          into runtimes' --trusted-keys
    plclink.signature  {"signer": NAME, "public_key": .., "identity": .., "signature": <hex>}
"""
import glob
import json
import os

from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from plc_protocol.program_identity import program_identity

SIGNATURE_FILE = "plclink.signature"
_CONTEXT = b"plclink program identity v1:"


class SignatureError(ValueError):
    """A program that must not be installed, or a key file that cannot be used; the message
    says which signer was expected."""


def _unsigned(extras) -> list:
    return [(name, data) for name, data in extras if name != SIGNATURE_FILE]


def signed_identity(program: bytes, extras) -> str:
    return program_identity(program, _unsigned(extras))


def new_key_pair(signer: str) -> tuple[str, str]:
    """(key file text, public key file text) for a new Ed25519 key of ``signer``."""
    key = SigningKey.generate()
    return (json.dumps({"signer": signer, "secret_key": key.encode().hex()}) + "\n",
            json.dumps({"signer": signer, "public_key": key.verify_key.encode().hex()}) + "\n")


def _read_json(path, wanted) -> dict:
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except OSError as error:
        raise SignatureError(f"cannot read {path}: {error.strerror}") from None
    except ValueError:
        raise SignatureError(f"{path} is not a plclink key file (JSON)") from None
    if not isinstance(document, dict) or not all(isinstance(document.get(k), str)
                                                 for k in wanted):
        raise SignatureError(f"{path} is not a plclink key file: it needs {', '.join(wanted)}")
    return document


def load_signing_key(path) -> tuple[str, SigningKey]:
    document = _read_json(path, ("signer", "secret_key"))
    try:
        return document["signer"], SigningKey(bytes.fromhex(document["secret_key"]))
    except ValueError:
        raise SignatureError(f"{path}: the secret key is not 32 bytes of hex") from None


def load_trusted(directory) -> dict:
    """{signer: VerifyKey} from every ``*.pub`` in ``directory``."""
    trusted = {}
    for path in sorted(glob.glob(os.path.join(directory, "*.pub"))):
        document = _read_json(path, ("signer", "public_key"))
        try:
            trusted[document["signer"]] = VerifyKey(bytes.fromhex(document["public_key"]))
        except ValueError:
            raise SignatureError(f"{path}: the public key is not 32 bytes of hex") from None
    if not trusted:
        raise SignatureError(f"no public key (*.pub) in {directory}: copy the NAME.pub files "
                             "of 'plclink keys new' there")
    return trusted


def sign(signer: str, key: SigningKey, program: bytes, extras) -> bytes:
    """The signature file's content for ``program`` with ``extras``."""
    identity = signed_identity(program, extras)
    signature = key.sign(_CONTEXT + identity.encode()).signature
    return (json.dumps({"signer": signer, "public_key": key.verify_key.encode().hex(),
                        "identity": identity, "signature": signature.hex()}, indent=1)
            + "\n").encode()


def with_signature(extras, signature: bytes) -> list:
    return _unsigned(extras) + [(SIGNATURE_FILE, signature)]


def signer_of(extras) -> str | None:
    """Who signed, as the signature file claims (not verified: for display)."""
    data = dict(extras).get(SIGNATURE_FILE)
    if data is None:
        return None
    try:
        return str(json.loads(bytes(data).decode("utf-8"))["signer"])
    except (ValueError, KeyError, TypeError):
        return "unreadable signature"


def verify(program: bytes, extras, trusted: dict) -> str:
    """The signer of a program whose signature verifies with one of ``trusted``'s keys."""
    expected = ", ".join(sorted(trusted)) or "nobody"
    data = dict(extras).get(SIGNATURE_FILE)
    if data is None:
        raise SignatureError(f"the program is not signed; this runtime installs only programs "
                             f"signed by {expected} (sign it: plclink sign --key NAME.key, or "
                             "--sign-key on transfer/deploy)")
    try:
        document = json.loads(bytes(data).decode("utf-8"))
        signer, signature = str(document["signer"]), bytes.fromhex(document["signature"])
    except (ValueError, KeyError, TypeError):
        raise SignatureError(f"{SIGNATURE_FILE} is unreadable; expected a signature by "
                             f"{expected}") from None
    key = trusted.get(signer)
    if key is None:
        raise SignatureError(f"the program is signed by {signer}, whose key this runtime does "
                             f"not trust; expected a signature by {expected}")
    identity = signed_identity(program, extras)
    try:
        key.verify(_CONTEXT + identity.encode(), signature)
    except BadSignatureError:
        raise SignatureError(f"the signature does not match the files (changed after {signer} "
                             f"signed, or not signed with {signer}'s key); expected a valid "
                             f"signature by {expected}") from None
    return signer
