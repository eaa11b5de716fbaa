"""Named accounts: the people who log in to the router, their role and their scope.

People live in their own file (``people.yaml`` beside the principals file), apart from the
service principals: ``plclink users`` rewrites it, the router re-reads it whenever it changes,
so adding, disabling or removing a person takes effect without a restart.

Passwords are stored as argon2id hashes (argon2-cffi, which crossbar already depends on): the
file never holds a password, and a stolen file does not log anyone in. People log in with WAMP
ticket (the password travels to the router, over TLS outside localhost) because only then can
the router check a slow, salted hash itself, see every failed attempt (login throttling) and
keep nothing a thief could replay; WAMP-CRA would need the router to hold a key equivalent to
the password.

File layout::

    people:
      alice: {role: engineer, password: "$argon2id$...", runtimes: ["plc-*"]}
      bob:   {role: viewer, password: "$argon2id$...", sites: ["plant-a"], disabled: true}
"""
import fnmatch
import os
from dataclasses import dataclass, field

import yaml
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from plc_protocol.uris import validate_plc_id

# From least to most: each role may do what the ones before it may.
PERSON_ROLES = ("viewer", "operator", "engineer", "admin")
FILE_NAME = "people.yaml"
PROCEDURE_PREFIX = "plclink.people."   # the router's account procedures (admin only)
LIST_PROCEDURE = PROCEDURE_PREFIX + "list"
CHANGE_PROCEDURE = PROCEDURE_PREFIX + "change"
_hasher = PasswordHasher()


class PeopleError(ValueError):
    pass


@dataclass(frozen=True)
class Person:
    name: str
    role: str
    password: str            # argon2 hash
    sites: tuple = field(default_factory=tuple)      # patterns; empty: every site
    runtimes: tuple = field(default_factory=tuple)   # runtime ID patterns; empty: every ID
    disabled: bool = False

    def at_least(self, role: str) -> bool:
        return PERSON_ROLES.index(self.role) >= PERSON_ROLES.index(role)

    def in_scope(self, plc_id: str, site: str) -> bool:
        """Whether runtime ``plc_id``, held by ``site``, is one this person may see and act on."""
        return (_matches(self.runtimes, plc_id) and _matches(self.sites, site))

    def describe_scope(self) -> str:
        parts = [f"sites {','.join(self.sites)}" if self.sites else "",
                 f"runtimes {','.join(self.runtimes)}" if self.runtimes else ""]
        return "; ".join(part for part in parts if part) or "everything"


def _matches(patterns, value) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


def validate_name(name: str) -> str:
    """Names are spelled like runtime IDs (letters, digits, '-', '_'): they appear in URIs,
    logs and audit records."""
    try:
        return validate_plc_id(name)
    except ValueError:
        raise PeopleError(f"user name {name!r}: use letters, digits, '-' and '_' "
                          "(like a runtime ID)") from None


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise PeopleError("a password needs at least 8 characters")
    return _hasher.hash(password)


def password_matches(person: Person, password: str) -> bool:
    try:
        return _hasher.verify(person.password, password)
    except (VerificationError, InvalidHashError):
        return False


def parse_patterns(text: str | None) -> tuple:
    """``"plc-*,tank-01"`` -> ("plc-*", "tank-01")."""
    return tuple(item.strip() for item in (text or "").split(",") if item.strip())


def parse_people(document) -> dict:
    if document is None:
        return {}
    if not isinstance(document, dict) or not isinstance(document.get("people", {}) or {}, dict):
        raise PeopleError("the people file must hold a mapping 'people: {name: {...}}'")
    result = {}
    for name, entry in (document.get("people") or {}).items():
        name = validate_name(str(name))
        if not isinstance(entry, dict) or entry.get("role") not in PERSON_ROLES:
            raise PeopleError(f"user {name!r}: role must be one of {', '.join(PERSON_ROLES)}")
        if not str(entry.get("password", "")).startswith("$argon2"):
            raise PeopleError(f"user {name!r}: 'password' must be an argon2 hash (set it with "
                              f"'plclink users passwd {name}')")
        result[name] = Person(name, entry["role"], entry["password"],
                              tuple(str(p) for p in entry.get("sites") or ()),
                              tuple(str(p) for p in entry.get("runtimes") or ()),
                              bool(entry.get("disabled", False)))
    return result


def people_document(people: dict) -> dict:
    entries = {}
    for person in people.values():
        entry = {"role": person.role, "password": person.password}
        if person.sites:
            entry["sites"] = list(person.sites)
        if person.runtimes:
            entry["runtimes"] = list(person.runtimes)
        if person.disabled:
            entry["disabled"] = True
        entries[person.name] = entry
    return {"people": entries}


def read_people(path) -> dict:
    if not os.path.exists(path):
        return {}
    with open(path, encoding="utf-8") as handle:
        try:
            return parse_people(yaml.safe_load(handle))
        except yaml.YAMLError as error:
            raise PeopleError(f"{path} is not valid YAML: {error}") from None


def write_people(path, people: dict) -> None:
    """Rewrite the file in place (same inode, so a file bind-mounted into a container sees
    the change), readable by its owner only."""
    text = yaml.safe_dump(people_document(people), sort_keys=False)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.truncate()
        handle.flush()
        os.fsync(handle.fileno())


class PeopleFile:
    """The people file as the router sees it: re-read when it changes; a file caught half
    written or broken keeps the last good reading (and says so once)."""

    def __init__(self, path, on_error=lambda message: None):
        self.path = os.path.abspath(path)
        self._stamp = None
        self._people = {}
        self._on_error = on_error

    def people(self) -> dict:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            self._stamp, self._people = None, {}
            return self._people
        stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        if stamp != self._stamp:
            self._stamp = stamp
            try:
                self._people = read_people(self.path)
            except (PeopleError, OSError) as error:
                self._on_error(f"people file {self.path}: {error}; keeping the last good one")
        return self._people

    def get(self, name):
        return self.people().get(name)


ACTIONS = ("add", "disable", "enable", "remove", "passwd")


def change_people(path, action, name, role=None, password=None, sites=(), runtimes=(),
                  taken=lambda name: False) -> Person | None:
    """One change to the people file, as ``plclink users`` and the router's
    ``plclink.people.change`` make it; the person after it (None: removed). ``taken(name)``:
    whether a service principal has that name."""
    from dataclasses import replace
    known = read_people(path)
    if action == "add":
        name = validate_name(name)
        if name in known:
            raise PeopleError(f"user {name!r} exists already (passwd, enable or remove it)")
        if taken(name):
            raise PeopleError(f"{name!r} is a service principal's name; choose another")
        if role not in PERSON_ROLES:
            raise PeopleError(f"role must be one of {', '.join(PERSON_ROLES)}")
        known[name] = Person(name, role, hash_password(password or ""), tuple(sites),
                             tuple(runtimes))
    elif action not in ACTIONS:
        raise PeopleError(f"action must be one of {', '.join(ACTIONS)}")
    elif name not in known:
        raise PeopleError(f"no user {name!r} (plclink users list)")
    elif action == "remove":
        del known[name]
    elif action == "passwd":
        known[name] = replace(known[name], password=hash_password(password or ""))
    else:
        known[name] = replace(known[name], disabled=action == "disable")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    write_people(path, known)
    return known.get(name)


def person_document(person: Person) -> dict:
    """What ``plclink users list`` shows of a person (never the hash)."""
    return {"name": person.name, "role": person.role, "disabled": person.disabled,
            "sites": list(person.sites), "runtimes": list(person.runtimes),
            "scope": person.describe_scope()}
