"""The IDE's PSK identities, in the Beremiz IDE's layout (protocol.md §5).

``<dir>/<ID>.secret`` holds ``ID:secret``; ``<dir>/management.json`` lists
``[ID, URI, description, last connection]``. Keeping Beremiz's layout means a project's ``psk``
folder can be pointed at (PLCLINK_PSK_DIR) or copied both ways between Beremiz and plclink.
Secrets are written readable by their owner only and never logged.
"""
import json
import os
import tempfile
import time

from plc_protocol.uris import validate_plc_id

ENV_DIR = "PLCLINK_PSK_DIR"
DEFAULT_DIR = os.path.join("~", ".config", "plclink", "psk")
MANAGEMENT_FILE = "management.json"
COL_ID, COL_URI, COL_DESC, COL_LAST = range(4)


class PSKStoreError(ValueError):
    """A store entry that is missing or unusable; the message says what to run."""


def default_directory() -> str:
    return os.path.expanduser(os.environ.get(ENV_DIR) or DEFAULT_DIR)


def _write_private(path: str, text: str) -> None:
    """Replace ``path`` atomically, mode 600: a crash never leaves half a secret behind."""
    directory = os.path.dirname(path)
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


class PSKStore:
    def __init__(self, directory: str | None = None):
        self.directory = os.path.abspath(os.path.expanduser(directory) if directory
                                         else default_directory())

    def secret_path(self, plc_id: str) -> str:
        return os.path.join(self.directory, f"{validate_plc_id(plc_id)}.secret")

    def lookup(self, plc_id: str) -> str | None:
        """The secret for ``plc_id``, None when this store has never been paired with it."""
        path = self.secret_path(plc_id)
        try:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
        except FileNotFoundError:
            return None
        except OSError as error:
            raise PSKStoreError(f"cannot read {path}: {error.strerror}") from None
        identity, colon, secret = text.strip().partition(":")
        secret = secret.strip()
        if identity != plc_id or not colon or not secret:
            raise PSKStoreError(f"{path} must hold one line '{plc_id}:secret'; "
                                f"re-pair with 'plclink pair'")
        return secret

    def require(self, plc_id: str) -> str:
        secret = self.lookup(plc_id)
        if secret is None:
            raise PSKStoreError(
                f"no PSK secret for {plc_id!r} in {self.directory}: pair first with "
                f"'plclink pair ERPC://host[:port]' over a trusted link (it stores "
                f"{plc_id}.secret there)")
        return secret

    def store(self, plc_id: str, secret: str, uri: str, description: str | None = None) -> str:
        """Keep a paired runtime's secret and note where and when it was seen; the secret path."""
        if not secret or "\n" in secret:
            raise PSKStoreError(f"refusing to store an empty or multi-line secret for {plc_id!r}")
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        path = self.secret_path(plc_id)
        _write_private(path, f"{plc_id}:{secret}")
        self._update_entry(plc_id, uri, description)
        return path

    def touch(self, plc_id: str, uri: str) -> None:
        """Record a successful connection (the "last connection" column)."""
        if os.path.isdir(self.directory):
            self._update_entry(plc_id, uri, None)

    def entries(self) -> list:
        """``[ID, URI, description, last connection]`` rows of the IDs that have a secret."""
        known = {row[COL_ID]: row for row in self._load()}
        try:
            names = sorted(os.listdir(self.directory))
        except FileNotFoundError:
            return []
        ids = [name[:-len(".secret")] for name in names if name.endswith(".secret")]
        return [known.get(plc_id, [plc_id, None, "", None]) for plc_id in ids]

    def remove(self, plc_id: str) -> None:
        try:
            os.remove(self.secret_path(plc_id))
        except FileNotFoundError:
            pass
        rows = [row for row in self._load() if row[COL_ID] != plc_id]
        self._save(rows)

    # --- management.json ------------------------------------------------------------------------

    def _management_path(self) -> str:
        return os.path.join(self.directory, MANAGEMENT_FILE)

    def _load(self) -> list:
        path = self._management_path()
        try:
            with open(path, encoding="utf-8") as handle:
                rows = json.load(handle)
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as error:
            raise PSKStoreError(f"{path} is not readable JSON ({error}); fix or delete it "
                                "(the .secret files beside it are kept)") from None
        if not isinstance(rows, list) or not all(
                isinstance(row, list) and len(row) == 4 and isinstance(row[COL_ID], str)
                for row in rows):
            raise PSKStoreError(f"{path} must be a list of [ID, URI, description, last "
                                "connection]; fix or delete it")
        return rows

    def _save(self, rows: list) -> None:
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        _write_private(self._management_path(), json.dumps(rows, indent=1))

    def _update_entry(self, plc_id, uri, description):
        rows = self._load()
        row = next((row for row in rows if row[COL_ID] == plc_id), None)
        if row is None:
            row = [plc_id, None, "", None]
            rows.append(row)
        row[COL_URI] = str(uri)
        if description is not None:
            row[COL_DESC] = description
        row[COL_LAST] = time.strftime("%Y/%m/%d-%H:%M:%S")  # sortable, as Beremiz intends
        self._save(rows)


class SecretFile:
    """One ``ID:secret`` file standing in for a store (a bridge entry's ``psk_file``).

    Read at every connection, so replacing the file after re-pairing needs no restart.
    """

    def __init__(self, path: str):
        self.path = path

    def require(self, plc_id: str) -> str:
        try:
            with open(self.path, encoding="utf-8") as handle:
                text = handle.read()
        except OSError as error:
            raise PSKStoreError(f"cannot read PSK file {self.path}: {error.strerror}") from None
        identity, colon, secret = text.strip().partition(":")
        if not colon or not secret.strip():
            raise PSKStoreError(f"{self.path} must hold one line '{plc_id}:secret'")
        if identity != plc_id:
            raise PSKStoreError(f"{self.path} holds the secret of {identity!r}, not {plc_id!r}; "
                                "re-pair with 'plclink pair' or fix psk_file")
        return secret.strip()

    def touch(self, plc_id: str, uri: str) -> None:
        pass
