"""Signing a program on the engineer's side (plc_protocol/program_signature.py): with
``plclink sign`` into a file sent along as an extra file, or on the way with ``--sign-key``."""
import atexit
import os
import shutil
import tempfile

from plc_protocol import program_signature
from plc_protocol.installation_files import read_installation


def signature_for(program_path, extra_paths, key_path) -> tuple[str, str, bytes]:
    """(signer, signed identity, signature file content) for the installation the IDE would
    send for these files (a signature file among them is left out: it is replaced)."""
    files = read_installation(program_path, [
        path for path in extra_paths
        if os.path.basename(path) != program_signature.SIGNATURE_FILE])
    signer, key = program_signature.load_signing_key(key_path)
    return (signer, program_signature.signed_identity(files.program, files.extras),
            program_signature.sign(signer, key, files.program, files.extras))


def sign_on_the_way(program_path, extra_paths, key_path) -> list:
    """The extra files with a fresh signature file (in a directory removed at exit)."""
    _, _, signature = signature_for(program_path, extra_paths, key_path)
    directory = tempfile.mkdtemp(prefix="plclink-signature-")
    atexit.register(shutil.rmtree, directory, True)
    path = os.path.join(directory, program_signature.SIGNATURE_FILE)
    with open(path, "wb") as handle:
        handle.write(signature)
    return [p for p in extra_paths
            if os.path.basename(p) != program_signature.SIGNATURE_FILE] + [path]
