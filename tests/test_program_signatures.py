"""Signed programs: a runtime with --trusted-keys installs only what a trusted key signed, over
every file; the rules first (pure), then the real router, runtime and CLI."""
import os
import shutil

import pytest

from harness import DEMO_CSV, DEMO_PROGRAM
from ide_fixtures import cli, ide_credentials  # noqa: F401
from plc_protocol import program_signature
from plc_protocol.installation_files import read_installation


def key_pair(directory, name):
    secret, public = program_signature.new_key_pair(name)
    (directory / f"{name}.key").write_text(secret)
    (directory / f"{name}.pub").write_text(public)
    return str(directory / f"{name}.key")


def test_signature_covers_every_file(tmp_path):
    alice = key_pair(tmp_path, "alice")
    bob = key_pair(tmp_path / "", "bob")
    (tmp_path / "bob.pub").unlink()        # alice alone is trusted
    trusted = program_signature.load_trusted(tmp_path)
    files = read_installation(DEMO_PROGRAM, [DEMO_CSV])
    signer, key = program_signature.load_signing_key(alice)
    signed = program_signature.with_signature(
        files.extras, program_signature.sign(signer, key, files.program, files.extras))
    assert program_signature.verify(files.program, signed, trusted) == "alice"
    assert program_signature.signer_of(signed) == "alice"
    with pytest.raises(program_signature.SignatureError, match="not signed.*signed by alice"):
        program_signature.verify(files.program, files.extras, trusted)
    tampered = [(name, data + b"9\n" if name == "setpoint.csv" else data) for name, data in signed]
    with pytest.raises(program_signature.SignatureError, match="does not match the files"):
        program_signature.verify(files.program, tampered, trusted)
    with pytest.raises(program_signature.SignatureError, match="does not match"):
        program_signature.verify(files.program + b"\n", signed, trusted)
    with pytest.raises(program_signature.SignatureError, match="does not match"):
        program_signature.verify(files.program, signed + [("more.csv", b"1\n")], trusted)
    signer, key = program_signature.load_signing_key(bob)
    by_bob = program_signature.with_signature(
        files.extras, program_signature.sign(signer, key, files.program, files.extras))
    with pytest.raises(program_signature.SignatureError,
                       match="signed by bob, whose key this runtime does not trust; expected "
                             "a signature by alice"):
        program_signature.verify(files.program, by_bob, trusted)


@pytest.mark.slow
def test_runtime_with_trusted_keys(cli, runtimes, tmp_path):  # noqa: F811
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    alice = key_pair(tmp_path, "alice")
    shutil.copy(tmp_path / "alice.pub", trusted)
    bob = key_pair(tmp_path, "bob")
    runtimes.start("plc-08", "--trusted-keys", str(trusted), program=None)

    def transfer(*files, sign_key=None):
        extra = ["--sign-key", sign_key] if sign_key else []
        return cli.json("transfer", "--id", "plc-08", "--force", *files, *extra)

    code, result, _ = transfer(DEMO_PROGRAM, DEMO_CSV, sign_key=alice)      # right key
    assert code == 0 and result["status"] == "Stopped", result
    installed = result["md5"]

    def refused(code, result, expected):
        assert code != 0, result
        messages = cli.run("logs", "--id", "plc-08", "--count", "3").stdout
        assert expected in messages, messages
        code, kept, _ = cli.json("transfer", "--id", "plc-08", DEMO_PROGRAM, DEMO_CSV,
                                 "--sign-key", alice)   # Ed25519 signs alike: the same md5
        assert code == 0 and kept["skipped"] and kept["md5"] == installed, kept   # old one kept

    refused(*transfer(DEMO_PROGRAM, DEMO_CSV)[:2], "the program is not signed; this runtime "
            "installs only programs signed by alice")
    refused(*transfer(DEMO_PROGRAM, DEMO_CSV, sign_key=bob)[:2], "signed by bob, whose key "
            "this runtime does not trust; expected a signature by alice")
    # signed with plclink sign, then a file changed before the transfer
    csv = tmp_path / "setpoint.csv"
    shutil.copy(DEMO_CSV, csv)
    signature = tmp_path / "plclink.signature"
    assert cli.run("sign", "--key", alice, DEMO_PROGRAM, str(csv), "--out",
                   str(signature)).returncode == 0
    csv.write_text(csv.read_text() + "# changed after signing\n")
    refused(*transfer(DEMO_PROGRAM, str(csv), str(signature))[:2],
            "the signature does not match the files")


@pytest.mark.slow
def test_beremiz_build_signed(cli, runtimes, tmp_path):  # noqa: F811
    """A Beremiz build keeps its own md5; the signature still covers its library and every
    file of it: a file changed in extra_files/ after signing is refused."""
    from beremiz_test_build import make_build
    build = make_build(str(tmp_path / "build"))
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    alice = key_pair(tmp_path, "alice")
    shutil.copy(tmp_path / "alice.pub", trusted)
    runtimes.start("plc-09", "--trusted-keys", str(trusted), program=None)
    with open(os.path.join(build, "lastbuildPLC.md5"), encoding="ascii") as handle:
        build_md5 = handle.read().strip()
    code, result, err = cli.json("transfer", "--id", "plc-09", build, "--sign-key", alice)
    assert code == 0 and result["md5"] == build_md5, err
    signature = tmp_path / "plclink.signature"
    assert cli.run("sign", "--key", alice, build, "--out", str(signature)).returncode == 0
    with open(os.path.join(build, "extra_files", "runtime_0.py"), "a") as handle:
        handle.write("\n# changed after signing\n")
    code, _, _ = cli.json("transfer", "--id", "plc-09", "--force", build, str(signature))
    assert code != 0
    assert "the signature does not match the files" in cli.run(
        "logs", "--id", "plc-09", "--count", "3").stdout
