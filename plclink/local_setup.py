"""Local identities for the suite on one machine: principals, runtime configs, IDE credentials.

Generated once into the state directory (kept out of git), each secret in a file readable only
by its owner. Existing files are kept, so secrets stay stable across restarts and an operator
may edit them.
"""
import os

import yaml

from router.principals import new_secret, write_principals
from runtime_component.wampconf import WampConf, write_wampconf

IDE_AUTHID = "ide"
OPERATOR_AUTHID = "operator"
VIEWER_AUTHID = "viewer"
BRIDGE_AUTHID = "bridge"
REGISTRY_AUTHID = "registry"
OPCUA_AUTHID = "opcua"
FIRST_ADMIN = "admin"   # the person plclink up / secrets make (people.yaml)


def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def ensure_principals(state_dir, runtime_ids, bridge_ids=(), linked_sites=None) -> str:
    """Create the principals file, or add identities missing from it; its path.
    ``linked_sites``: {plant name: carried ID patterns}, each plant's node.pub expected in a
    directory of that name beside ``state_dir`` (where its own ``plclink secrets`` wrote)."""
    path = os.path.join(state_dir, "principals.yaml")
    os.makedirs(state_dir, exist_ok=True)
    principals = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            principals = (yaml.safe_load(handle) or {}).get("principals", {}) or {}
    wanted = {IDE_AUTHID: {"role": "ide"}, OPERATOR_AUTHID: {"role": "ide"},
              VIEWER_AUTHID: {"role": "dashboard"}, REGISTRY_AUTHID: {"role": "registry"},
              OPCUA_AUTHID: {"role": "opcua"}}
    wanted.update({plc_id: {"role": "runtime"} for plc_id in runtime_ids})
    if bridge_ids:
        wanted[BRIDGE_AUTHID] = {"role": "bridge", "carries": list(bridge_ids)}
    changed = False
    for name, patterns in (linked_sites or {}).items():
        entry = {"role": "site", "pubkey_file": os.path.join("..", name, "node.pub"),
                 "carries": list(patterns)}
        if principals.get(name) != entry:
            principals[name] = entry
            changed = True
    for authid, entry in wanted.items():
        if authid not in principals:
            kind = "ticket" if authid in (OPERATOR_AUTHID, VIEWER_AUTHID) else "secret"
            principals[authid] = {**entry, kind: new_secret()}
            changed = True
    if changed or not os.path.exists(path):
        write_principals(path, principals)
    return path


def principal_secret(state_dir, authid) -> str:
    with open(os.path.join(state_dir, "principals.yaml"), encoding="utf-8") as handle:
        entry = yaml.safe_load(handle)["principals"][authid]
    return entry.get("secret") or entry.get("ticket")


def ensure_runtime_dir(state_dir, plc_id, url, realm) -> str:
    """A runtime's working directory with wampconf.json and wamp.secret; its path."""
    workdir = os.path.join(state_dir, "runtimes", plc_id)
    os.makedirs(workdir, exist_ok=True)
    write_wampconf(os.path.join(workdir, "wampconf.json"),
                   WampConf(ID=plc_id, active=True, realm=realm, url=url))
    _write_private(os.path.join(workdir, "wamp.secret"), principal_secret(state_dir, plc_id) + "\n")
    return workdir


def rotate(state_dir, authid) -> None:
    """Give one principal a new secret (or ticket); the router picks it up at the next login."""
    path = os.path.join(state_dir, "principals.yaml")
    with open(path, encoding="utf-8") as handle:
        principals = yaml.safe_load(handle)["principals"]
    if authid not in principals:
        raise KeyError(f"no principal {authid!r} in {path}")
    kind = "ticket" if "ticket" in principals[authid] else "secret"
    principals[authid][kind] = new_secret()
    write_principals(path, principals)


def write_secret_file(state_dir, authid) -> str:
    """``<authid>.secret`` beside the principals file, for a service given --secret-file."""
    path = os.path.join(state_dir, f"{authid}.secret")
    _write_private(path, principal_secret(state_dir, authid) + "\n")
    return path


def ensure_registry_pgpass(state_dir) -> str:
    """The registry's PostgreSQL password as a libpq pgpass file (``PGPASSFILE``; any host),
    made once: the compose stack's postgres service creates its role with it."""
    path = os.path.join(state_dir, "registry.pgpass")
    if not os.path.exists(path):
        _write_private(path, f"*:5432:plclink:registry:{new_secret()}\n")
    return path


def _person_login(state_dir, path) -> dict | None:
    """The person the credentials file logs in as, kept; else a first admin account, made when
    the people file has nobody yet; None when people exist but none is known here."""
    from router import people
    from plclink.users_command import add_person
    people_path = os.path.join(state_dir, people.FILE_NAME)
    known = people.read_people(people_path)
    try:
        with open(path, encoding="utf-8") as handle:
            kept = yaml.safe_load(handle) or {}
    except (OSError, yaml.YAMLError):
        kept = {}
    if isinstance(kept, dict) and kept.get("authid") in known and kept.get("ticket"):
        return {"authid": kept["authid"], "ticket": kept["ticket"]}
    if known:
        return None
    password = new_secret()
    add_person(people_path, FIRST_ADMIN, "admin", password)
    return {"authid": FIRST_ADMIN, "ticket": password}


def ensure_opcua_users(state_dir) -> str:
    """The OPC UA gateway's users (opcua_gateway/users.py), made once: ``operator`` writes,
    ``viewer`` reads, each with a generated password."""
    path = os.path.join(state_dir, "opcua-users.yaml")
    if not os.path.exists(path):
        users = {"operator": {"role": "ide", "password": new_secret()},
                 "viewer": {"role": "dashboard", "password": new_secret()}}
        _write_private(path, yaml.safe_dump({"users": users}, sort_keys=False))
    return path


def write_ide_credentials(state_dir, url, realm, ca_file=None) -> str:
    """Credentials the CLI reads (PLCLINK_CREDENTIALS points here): the first admin person's
    (made here on first use), else the IDE service principal's; ``ca_file`` verifies a wss://
    router (a relative path is relative to the credentials file)."""
    path = os.path.join(state_dir, "credentials.yaml")
    login = _person_login(state_dir, path) or {
        "authid": IDE_AUTHID, "secret": principal_secret(state_dir, IDE_AUTHID)}
    document = {"router": url, "realm": realm, **login,
                **({"ca_file": ca_file} if ca_file else {})}
    _write_private(path, yaml.safe_dump(document, sort_keys=False))
    return path
