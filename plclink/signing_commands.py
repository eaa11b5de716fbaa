"""``plclink keys new`` (an engineer's Ed25519 key pair) and ``plclink sign`` (a signature file
covering a program and every file sent with it); plc_protocol/program_signature.py."""
import os
import sys

from plc_protocol import program_signature
from router.people import PeopleError, validate_name


def register(subparsers):
    keys = subparsers.add_parser(
        "keys", help="signing keys for programs: keys new NAME",
        description="Make an Ed25519 key pair for signing programs: NAME.key (mode 600, keep "
                    "it) and NAME.pub (copy it into the --trusted-keys directory of runtimes).")
    actions = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="a new key pair")
    new.add_argument("name", help="the signer's name, shown wherever the program is")
    new.add_argument("--out", default=".", help="directory to write to (default: here)")
    keys.set_defaults(handler=new_keys)
    sign = subparsers.add_parser(
        "sign", help="sign a program and its files",
        description="Write a signature over the program and every file (the same files you "
                    "give transfer or deploy; a Beremiz build directory brings its own) into "
                    f"{program_signature.SIGNATURE_FILE}; send it along as one more file: "
                    f"plclink transfer PROGRAM FILES... {program_signature.SIGNATURE_FILE}.")
    sign.add_argument("--key", required=True, metavar="NAME.key")
    sign.add_argument("program", metavar="PROGRAM")
    sign.add_argument("extra_files", metavar="EXTRA_FILE", nargs="*")
    sign.add_argument("--out", help=f"signature file (default: {program_signature.SIGNATURE_FILE}"
                                    " beside the program)")
    sign.set_defaults(handler=sign_program)


def new_keys(args) -> int:
    try:
        name = validate_name(args.name)
    except PeopleError as error:
        print(f"plclink keys: {error}", file=sys.stderr)
        return 2
    key_path = os.path.join(args.out, f"{name}.key")
    pub_path = os.path.join(args.out, f"{name}.pub")
    if os.path.exists(key_path):
        print(f"plclink keys: {key_path} exists; keep it, or remove it first", file=sys.stderr)
        return 2
    secret, public = program_signature.new_key_pair(name)
    try:
        os.makedirs(args.out, exist_ok=True)
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(secret)
        with open(pub_path, "w", encoding="utf-8") as handle:
            handle.write(public)
    except OSError as error:
        print(f"plclink keys: {error.filename}: {error.strerror}", file=sys.stderr)
        return 1
    print(f"key          {key_path} (mode 600: sign with it, never share it)")
    print(f"public key   {pub_path} (copy it into runtimes' --trusted-keys directory)")
    return 0


def sign_program(args) -> int:
    from ide_component.signing import signature_for
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.program)),
                                   program_signature.SIGNATURE_FILE)
    try:
        signer, identity, signature = signature_for(args.program, args.extra_files, args.key)
        with open(out, "wb") as handle:
            handle.write(signature)
    except (ValueError, OSError) as error:
        print(f"plclink sign: {error}", file=sys.stderr)
        return 2
    print(f"signed {identity} as {signer}: {out}; send it with the program: plclink transfer "
          f"... {args.program} {' '.join(args.extra_files + [out])}")
    return 0
