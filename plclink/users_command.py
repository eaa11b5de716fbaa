"""``plclink users``: named accounts in the router's people file (router/people.py).

Run where the router's files are (its host, or the directory compose mounts): the router re-reads
the file at the next login and call, and logs out a person who was disabled, removed or
changed. Passwords are read from a prompt (twice), from a file, or one line on stdin, never from
the command line; only their argon2 hash is written.
"""
import getpass
import os
import secrets
import sys
from dataclasses import replace

import yaml

from router import people
from router.principals import PrincipalsError, PrincipalsFile

PEOPLE_ENV = "PLCLINK_PEOPLE"
DEFAULT_PEOPLE = os.path.join(".plclink", people.FILE_NAME)


def _people_argument(parser) -> None:
    parser.add_argument("--people", default=os.environ.get(PEOPLE_ENV, DEFAULT_PEOPLE),
                        help=f"the people file (default ${PEOPLE_ENV}, else %(default)s; "
                             "deploy/secrets/people.yaml for the compose stack)")


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "users", help="named accounts: add, list, disable, enable, remove, passwd",
        description=__doc__)
    parser.set_defaults(handler=run)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a person")
    _people_argument(add)
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=people.PERSON_ROLES,
                     help="viewer reads; operator also starts, stops, forces, writes, "
                          "acknowledges; engineer also transfers, deploys, rolls back; admin "
                          "also manages accounts and sessions")
    add.add_argument("--sites", help="only runtimes of these sites (comma-separated names or "
                                     "patterns like 'plant-*'; 'local' is this router's own)")
    add.add_argument("--runtimes", help="only these runtime IDs (comma-separated, patterns "
                                        "like 'plc-*')")
    _password_arguments(add)
    add.add_argument("--credentials-out", metavar="FILE",
                     help="write this person's CLI credentials file (mode 600) to hand over; "
                          "without --password-file, a random password is made for it")
    add.add_argument("--router", help="router URL for --credentials-out (default: the one in "
                                      "$PLCLINK_CREDENTIALS, else ws://127.0.0.1:8888)")
    _people_argument(actions.add_parser("list", help="list the people, their role, scope and "
                                                     "state"))
    for action, text in (("disable", "refuse this person's logins and end their sessions"),
                         ("enable", "let a disabled person log in again"),
                         ("remove", "delete this person and end their sessions")):
        named = actions.add_parser(action, help=text)
        named.add_argument("name")
        _people_argument(named)
    passwd = actions.add_parser("passwd", help="set a person's password (ends their sessions)")
    passwd.add_argument("name")
    _people_argument(passwd)
    _password_arguments(passwd)


def _password_arguments(parser) -> None:
    parser.add_argument("--password-file", metavar="FILE",
                        help="read the password from the first line of FILE ('-': stdin); "
                             "default: a prompt, or one line on stdin when it is not a terminal")


class UsersError(ValueError):
    pass


def read_password(args, generate=False) -> str:
    if args.password_file:
        handle = sys.stdin if args.password_file == "-" else open(args.password_file,
                                                                   encoding="utf-8")
        with handle:
            return handle.readline().rstrip("\n")
    if generate:
        return secrets.token_urlsafe(18)
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise UsersError("the two passwords differ; nothing changed")
    return first


def _check_not_a_principal(people_path, name) -> None:
    principals = os.path.join(os.path.dirname(os.path.abspath(people_path)), "principals.yaml")
    try:
        taken = os.path.exists(principals) and PrincipalsFile(principals).get(name) is not None
    except (PrincipalsError, OSError):
        taken = False
    if taken:
        raise UsersError(f"{name!r} is a service principal in {principals}; choose another name")


def credentials_document(name, password, router=None) -> dict:
    """A person's CLI credentials: the router, realm and CA of $PLCLINK_CREDENTIALS when set."""
    from ide_component.wamp_session import CredentialsError, load_credentials
    try:
        base = load_credentials() if os.environ.get("PLCLINK_CREDENTIALS") else {}
    except CredentialsError:
        base = {}
    document = {"router": router or base.get("router", "ws://127.0.0.1:8888"),
                "realm": base.get("realm", "Automation"), "authid": name, "ticket": password}
    if base.get("ca_file"):
        document["ca_file"] = base["ca_file"]
    return document


def write_credentials(path, document) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(document, handle, sort_keys=False)


def add_person(people_path, name, role, password, sites=(), runtimes=()) -> people.Person:
    name = people.validate_name(name)
    known = people.read_people(people_path)
    if name in known:
        raise UsersError(f"user {name!r} exists already (plclink users passwd/enable/remove)")
    _check_not_a_principal(people_path, name)
    person = people.Person(name, role, people.hash_password(password), tuple(sites),
                           tuple(runtimes))
    known[name] = person
    os.makedirs(os.path.dirname(os.path.abspath(people_path)), exist_ok=True)
    people.write_people(people_path, known)
    return person


def run(args) -> int:
    try:
        return _run(args)
    except (UsersError, people.PeopleError) as error:
        print(f"plclink users: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"plclink users: {error.filename or args.people}: {error.strerror}",
              file=sys.stderr)
        return 1


def _run(args) -> int:
    path = args.people
    if args.action == "add":
        password = read_password(args, generate=bool(args.credentials_out))
        person = add_person(path, args.name, args.role, password,
                            people.parse_patterns(args.sites), people.parse_patterns(args.runtimes))
        print(f"added {person.name}: {person.role}, scope {person.describe_scope()}")
        if args.credentials_out:
            write_credentials(args.credentials_out,
                              credentials_document(person.name, password, args.router))
            print(f"credentials  {args.credentials_out} (mode 600: hand it over, then "
                  f"PLCLINK_CREDENTIALS={args.credentials_out})")
        return 0
    known = people.read_people(path)
    if args.action == "list":
        if not known:
            print(f"no people in {path} (plclink users add NAME --role ROLE)")
        for person in known.values():
            state = "disabled" if person.disabled else "enabled"
            print(f"{person.name:16} {person.role:9} {state:9} {person.describe_scope()}")
        return 0
    if args.name not in known:
        raise UsersError(f"no user {args.name!r} in {path} (plclink users list)")
    person = known[args.name]
    if args.action == "remove":
        del known[args.name]
    elif args.action in ("disable", "enable"):
        known[args.name] = replace(person, disabled=args.action == "disable")
    else:
        known[args.name] = replace(person, password=people.hash_password(read_password(args)))
    people.write_people(path, known)
    done = {"remove": "removed", "disable": "disabled", "enable": "enabled",
            "passwd": "new password for"}[args.action]
    ends = "" if args.action == "enable" else "; the router ends their sessions within 1 s"
    print(f"{done} {args.name}{ends}")
    return 0
