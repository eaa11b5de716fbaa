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

import yaml

from router import people
from router.principals import PrincipalsError, PrincipalsFile

PEOPLE_ENV = "PLCLINK_PEOPLE"
DEFAULT_PEOPLE = os.path.join(".plclink", people.FILE_NAME)


def _people_argument(parser) -> None:
    parser.add_argument("--people", default=os.environ.get(PEOPLE_ENV, DEFAULT_PEOPLE),
                        help=f"the people file (default ${PEOPLE_ENV}, else %(default)s; "
                             "deploy/secrets/people.yaml for the compose stack)")
    parser.add_argument("--via-router", action="store_true",
                        help="ask the router instead (plclink.people.*), as the admin of "
                             "$PLCLINK_CREDENTIALS: from anywhere, when the router may write "
                             "its people file")


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


def _is_principal(people_path, name) -> bool:
    principals = os.path.join(os.path.dirname(os.path.abspath(people_path)), "principals.yaml")
    try:
        return os.path.exists(principals) and PrincipalsFile(principals).get(name) is not None
    except (PrincipalsError, OSError):
        return False


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
    return people.change_people(people_path, "add", name, role, password, sites, runtimes,
                                taken=lambda name: _is_principal(people_path, name))


def run(args) -> int:
    try:
        return _run(args)
    except ValueError as error:   # UsersError, PeopleError, a bad password file
        print(f"plclink users: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"plclink users: {error.filename or args.people}: {error.strerror}",
              file=sys.stderr)
        return 1


def _run(args) -> int:
    change = _over_router(args) if args.via_router else _in_file(args)
    if args.action == "list":
        listed = change("list")
        if not listed:
            print("nobody yet (plclink users add NAME --role ROLE)")
        for person in listed:
            state = "disabled" if person["disabled"] else "enabled"
            print(f"{person['name']:16} {person['role']:9} {state:9} {person['scope']}")
        return 0
    if args.action == "add":
        password = read_password(args, generate=bool(args.credentials_out))
        person = change("add", args.name, args.role, password,
                        people.parse_patterns(args.sites), people.parse_patterns(args.runtimes))
        print(f"added {person['name']}: {person['role']}, scope {person['scope']}")
        if args.credentials_out:
            write_credentials(args.credentials_out,
                              credentials_document(person["name"], password, args.router))
            print(f"credentials  {args.credentials_out} (mode 600: hand it over, then "
                  f"PLCLINK_CREDENTIALS={args.credentials_out})")
        return 0
    password = read_password(args) if args.action == "passwd" else None
    change(args.action, args.name, None, password)
    done = {"remove": "removed", "disable": "disabled", "enable": "enabled",
            "passwd": "new password for"}[args.action]
    ends = "" if args.action == "enable" else "; the router ends their sessions within 1 s"
    print(f"{done} {args.name}{ends}")
    return 0


def _in_file(args):
    def change(action, *change_args):
        if action == "list":
            return [people.person_document(p) for p in people.read_people(args.people).values()]
        person = people.change_people(args.people, action, *change_args,
                                      taken=lambda name: _is_principal(args.people, name))
        return people.person_document(person) if person else None
    return change


def _over_router(args):
    """The same changes asked of the router (plclink.people.*) as the admin logged in."""
    from autobahn.wamp.exception import ApplicationError

    from ide_component import blocking, reactor_thread

    def change(action, *change_args):
        with blocking.open_fleet(None, None) as fleet:
            try:
                return reactor_thread.blocking(
                    fleet.fleet.session.call, people.LIST_PROCEDURE if action == "list"
                    else people.CHANGE_PROCEDURE, *(() if action == "list"
                                                    else (action, *change_args)))
            except ApplicationError as error:
                raise UsersError(error.args[0] if error.args else error.error) from None
    return change
