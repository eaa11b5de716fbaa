"""Who may log in to the OPC UA server, and whether they may write (docs/opcua.md).

The one place where OPC UA user names meet the suite's principals. Two sources, both re-read
when they change, so adding, disabling or changing anyone needs no restart:

- the people file (router/people.py, ``plclink users``): each person logs in with their own
  name and password; viewers read, operators and above write setpoints, each write made in the
  person's own router session (person_sessions.py), so the router applies their scope;
- a users file the operator keeps for machines (an HMI panel, a historian), each user holding a
  password and a suite role::

    users:
      operator: {role: ide, password_file: operator.password}   # reads and writes
      hmi:      {role: dashboard, password_env: HMI_PASSWORD}    # reads only

``ide`` writes setpoints (``<ID>.Write``), ``dashboard`` only reads, as on the router. A name
in both files is refused: which password would count is not for the gateway to guess.

Guessing is locked out as on the router (router/login_throttle.py): after 5 failed logins in a
row a name is refused for 5 minutes, whatever the password. asyncua does not tell the user
manager the client's address, so the row is counted per name over all OPC UA clients.
"""
import hmac
import os
from dataclasses import dataclass

import yaml

from router.login_throttle import LoginThrottle
from router.people import PeopleFile, password_matches
from router.principals import PrincipalsError, credential

WRITING_ROLES = ("ide",)
READING_ROLES = ("ide", "dashboard")
WRITING_PERSON = "operator"   # the least person role that writes setpoints
ANONYMOUS = None   # the user name of an anonymous session (``--anonymous-read``)
ANY_CLIENT = "opc.tcp"   # the throttle's address: asyncua gives the user manager none


class UsersError(ValueError):
    pass


@dataclass(frozen=True)
class OpcUser:
    name: str | None
    role: str                    # a suite role (users file) or a person's role (people file)
    person: object = None        # the router.people.Person, for people

    def may_write(self) -> bool:
        """As far as the gateway can tell: a person's scope is the router's to check."""
        if self.person is not None:
            return not self.person.disabled and self.person.at_least(WRITING_PERSON)
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
    """The users file and the people file, each re-read whenever it changes on disk."""

    def __init__(self, path: str | None, anonymous_read: bool, people_path: str | None = None,
                 throttle: LoginThrottle | None = None,
                 on_lockout=lambda name, failures, seconds: None):
        self.path = os.path.abspath(path) if path else None
        self.anonymous_read = anonymous_read
        self.people = PeopleFile(people_path) if people_path else None
        self.throttle = throttle or LoginThrottle()
        self.on_lockout = on_lockout
        self._stamp, self._users = None, {}
        if self.path:
            self.users()   # a broken file is bad input at start, not a refusal later

    def users(self) -> dict:
        if self.path is None:
            return {}
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

    def _person(self, name: str):
        return self.people.get(name) if self.people is not None else None

    def is_person(self, name: str | None) -> bool:
        return name is not ANONYMOUS and self._person(name) is not None

    def may_write(self, name: str | None) -> bool:
        """Asked at each write: a role, scope or account changed in a file applies at once."""
        if name is ANONYMOUS:
            return False
        try:
            machine = self.users().get(name)
        except (OSError, UsersError):
            return False
        person = self._person(name)
        if (machine is None) == (person is None):   # unknown, or in both files
            return False
        return (machine[1] if machine else OpcUser(name, person.role, person)).may_write()

    def login(self, name: str | None, password: str | None) -> OpcUser | None:
        """The user a session acts as; None: refused."""
        if name is None:
            return OpcUser(ANONYMOUS, "dashboard") if self.anonymous_read else None
        if self.throttle.locked(name, ANY_CLIENT) is not None:
            return None
        try:
            machine = self.users().get(name)
        except (OSError, UsersError):
            return None   # logged by the caller's refusal; the file is being edited
        user = self._checked(name, machine, self._person(name), str(password or ""))
        if user is not None:
            self.throttle.succeeded(name, ANY_CLIENT)
            return user
        refusal = self.throttle.failed(name, ANY_CLIENT)
        if refusal.newly_locked:
            self.on_lockout(name, refusal.failures, refusal.locked_for)
        return None

    @staticmethod
    def _checked(name, machine, person, password: str) -> OpcUser | None:
        if machine is not None:
            if person is None and hmac.compare_digest(machine[0].encode(), password.encode()):
                return machine[1]
            return None
        if person is not None and not person.disabled and password_matches(person, password):
            return OpcUser(name, person.role, person)
        return None
