"""Who may log in to the OPC UA server, and whether they may write (docs/opcua.md).

The one place where OPC UA user names meet the suite's principals. Until named accounts land
(issue 19), it is a file the operator keeps, each user holding a password and a suite role::

    users:
      operator: {role: ide, password_file: operator.password}   # reads and writes
      hmi:      {role: dashboard, password_env: HMI_PASSWORD}    # reads only

``ide`` writes setpoints (``<ID>.Write``), ``dashboard`` only reads, as on the router. The
file is re-read when it changes, so adding a user needs no restart.
"""
import hmac
import os
from dataclasses import dataclass

import yaml

from router.principals import PrincipalsError, credential

WRITING_ROLES = ("ide",)
READING_ROLES = ("ide", "dashboard")
ANONYMOUS = None   # the user name of an anonymous session (``--anonymous-read``)


class UsersError(ValueError):
    pass


@dataclass(frozen=True)
class OpcUser:
    name: str | None
    role: str

    @property
    def may_write(self) -> bool:
        return self.name is not ANONYMOUS and self.role in WRITING_ROLES


def _password(name, entry, base_dir) -> str:
    try:
        value = credential(name, entry, "password", base_dir, holder="user")
    except PrincipalsError as error:
        raise UsersError(str(error)) from None
    if not value:
        raise UsersError(f"user {name!r}: give a password (password, password_file or "
                         "password_env)")
    return value


def parse_users(document, base_dir=".") -> dict:
    """{name: (password, OpcUser)}; every mistake names the user and the key."""
    if not isinstance(document, dict) or not isinstance(document.get("users"), dict):
        raise UsersError("the users file must hold a mapping 'users: {name: {role: ide|dashboard, "
                         "password_file: ...}}'")
    users = {}
    for name, entry in document["users"].items():
        name = str(name)
        if not isinstance(entry, dict) or entry.get("role") not in READING_ROLES:
            raise UsersError(f"user {name!r}: 'role' must be one of {', '.join(READING_ROLES)}")
        users[name] = (_password(name, entry, base_dir), OpcUser(name, entry["role"]))
    return users


class UsersFile:
    """The users file, re-read whenever it changes on disk."""

    def __init__(self, path: str | None, anonymous_read: bool):
        self.path = os.path.abspath(path) if path else None
        self.anonymous_read = anonymous_read
        self._stamp, self._users = None, {}
        if self.path:
            self.users()   # a broken file is bad input at start, not a refusal later

    def users(self) -> dict:
        try:
            stat = os.stat(self.path)
        except OSError as error:
            raise UsersError(f"cannot read the users file {self.path}: {error.strerror}") from None
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp != self._stamp:
            with open(self.path, encoding="utf-8") as handle:
                try:
                    document = yaml.safe_load(handle)
                except yaml.YAMLError as error:
                    raise UsersError(f"{self.path} is not YAML: {error}") from None
            self._users = parse_users(document, os.path.dirname(self.path))
            self._stamp = stamp
        return self._users

    def may_write(self, name: str | None) -> bool:
        """Asked at each write: a role changed in the file applies at once."""
        if name is ANONYMOUS or self.path is None:
            return False
        try:
            known = self.users().get(name)
        except (OSError, UsersError):
            return False
        return known is not None and known[1].may_write

    def login(self, name: str | None, password: str | None) -> OpcUser | None:
        """The user a session acts as; None: refused."""
        if name is None:
            return OpcUser(ANONYMOUS, "dashboard") if self.anonymous_read else None
        if self.path is None:
            return None
        try:
            known = self.users().get(name)
        except (OSError, UsersError):
            return None   # logged by the caller's refusal; the file is being edited
        if known is None or not hmac.compare_digest(known[0].encode(),
                                                    str(password or "").encode()):
            return None
        return known[1]
