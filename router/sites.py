"""Plant routers linked to a headquarters router by crossbar's router-to-router links (rlinks).

Each plant router dials HQ (``plclink router --site NAME --uplink URL``) and authenticates with
its node key (cryptosign, the only method an rlink offers); HQ knows each site as a principal
with role ``site``, its public key and the runtime IDs it carries. The link forwards the plant's
registrations to HQ (HQ calls plant runtimes) and HQ's exact subscriptions to the plant (HQ
hears plant events); nothing flows from HQ into a plant, so a plant without HQ is unchanged.

Pure: key files, the uniqueness check and the rlink section of the node config (nacl is
imported only where keys are made or read: the IDE imports this module for the role name).
"""
import binascii
import datetime
import fnmatch
import os
import socket
import uuid
from urllib.parse import urlsplit

from router.roles import SITE_ROLE

# A runtime linked from a site is known at HQ by its link's registration of this procedure.
MARKER_METHOD = "GetPLCstatus"
LINK_ID = "uplink"
NODE_KEY, NODE_PUB = "node.key", "node.pub"
_GLOB = "*?["


class SiteError(ValueError):
    pass


def _write(path, text, private):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def generate_node_key(out_dir: str, name: str = "") -> tuple:
    """Write ``node.key`` (crossbar's key.priv layout, which the launcher installs in the node
    directory) and ``node.pub`` (the public key alone, for HQ's principals file) unless they
    exist; (key path, public key hex)."""
    from nacl import encoding, signing
    key_path, pub_path = os.path.join(out_dir, NODE_KEY), os.path.join(out_dir, NODE_PUB)
    if os.path.exists(key_path):
        public = read_node_key(key_path)
    else:
        key = signing.SigningKey.generate()
        public = key.verify_key.encode(encoding.HexEncoder).decode()
        tags = {"creator": "plclink secrets", "created-at": datetime.datetime.now(
                    datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "machine-id": uuid.uuid4().hex, "node-authid": name or socket.gethostname(),
                "public-key-ed25519": public,
                "private-key-ed25519": key.encode(encoding.HexEncoder).decode(),
                # crossbar's node wants an Ethereum key too (it derives the address itself)
                "private-key-eth": binascii.b2a_hex(os.urandom(32)).decode()}
        _write(key_path, "plclink node key (crossbar key.priv) - KEEP THIS SAFE!\n\n"
               + "".join(f"{tag}: {value}\n" for tag, value in tags.items()), private=True)
    _write(pub_path, public + "\n", private=False)
    return key_path, public


def read_node_key(path: str) -> str:
    """The public key of a node key file, checked against its private key."""
    from nacl import encoding, signing
    try:
        with open(path, encoding="utf-8") as handle:
            tags = dict(line.split(":", 1) for line in handle.read().splitlines()
                        if ":" in line and not line.startswith("plclink"))
        tags = {tag.strip(): value.strip() for tag, value in tags.items()}
        key = signing.SigningKey(tags["private-key-ed25519"], encoder=encoding.HexEncoder)
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise SiteError(f"node key {path} is unusable ({error}); make one with "
                        "'plclink secrets --node-key --out DIR'") from None
    public = key.verify_key.encode(encoding.HexEncoder).decode()
    if tags.get("public-key-ed25519") != public:
        raise SiteError(f"node key {path}: its public key does not match its private key")
    return public


def check_public_key(authid: str, text: str) -> str:
    try:
        if len(bytes.fromhex(text)) == 32:
            return text.lower()
    except ValueError:
        pass
    raise SiteError(f"principal {authid!r}: pubkey must be an Ed25519 public key in hex "
                    "(64 characters: the node.pub that 'plclink secrets --node-key' wrote)")


def check_carried_pattern(authid: str, pattern: str) -> str:
    """A site carries exact runtime IDs or ``prefix*`` patterns: both can be checked against
    every other site's for overlap."""
    literal = pattern[:-1] if pattern.endswith("*") else pattern
    if not literal or any(char in literal for char in _GLOB):
        raise SiteError(f"principal {authid!r}: carries {pattern!r}: give runtime IDs or "
                        "prefixes like 'a-*' (one '*' at the end)")
    return pattern


def _may_overlap(one: str, other: str) -> bool:
    """Whether two ID patterns can name one ID (conservative for globs other than prefix*)."""
    if not any(char in one + other for char in _GLOB):
        return one == other
    if not any(char in other for char in _GLOB):
        return fnmatch.fnmatchcase(other, one)
    if not any(char in one for char in _GLOB):
        return fnmatch.fnmatchcase(one, other)
    head = lambda text: text[:min((text.find(c) for c in _GLOB if c in text), default=len(text))]
    return head(one).startswith(head(other)) or head(other).startswith(head(one))


def check_unique(principals) -> None:
    """Runtime IDs are unique fleet-wide: no ID may be carried by two sites, or by a site and
    this router's own runtimes or bridge. HQ's router must never refuse a registration a link
    forwards (crossbar stops that link's re-sync for good), so a clash is an error in the
    principals file, found before any link connects."""
    claims = []   # (pattern, who)
    for principal in principals:
        if principal.role == "runtime":
            claims.append((principal.authid, f"runtime {principal.authid!r} of this router"))
        elif principal.role in ("bridge", SITE_ROLE):
            claims += [(pattern, f"{principal.role} {principal.authid!r}")
                       for pattern in principal.carries]
    for number, (pattern, who) in enumerate(claims):
        for other, other_who in claims[number + 1:]:
            if who != other_who and SITE_ROLE in (who.split()[0], other_who.split()[0]) \
                    and _may_overlap(pattern, other):
                raise SiteError(
                    f"runtime IDs must be unique fleet-wide, but {pattern!r} ({who}) and "
                    f"{other!r} ({other_who}) can name the same runtime: rename the runtimes "
                    "of one site or narrow its 'carries'")


def site_of(principals, plc_id: str) -> str | None:
    """The site whose ``carries`` names ``plc_id``, if any."""
    for principal in principals:
        if principal.role == SITE_ROLE and any(fnmatch.fnmatchcase(plc_id, pattern)
                                               for pattern in principal.carries):
            return principal.authid
    return None


def uplink_transport(url: str, ca_file: str | None = None) -> dict:
    """Crossbar's connecting transport for ``ws://host:port`` or ``wss://host:port``."""
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise SiteError(f"--uplink {url!r}: give HQ's router as ws://HOST:PORT or "
                        "wss://HOST:PORT")
    endpoint = {"type": "tcp", "host": parts.hostname,
                "port": parts.port or (443 if parts.scheme == "wss" else 80), "timeout": 10}
    if parts.scheme == "wss":
        endpoint["tls"] = {"hostname": parts.hostname,
                           **({"ca_certificates": [os.path.abspath(ca_file)]} if ca_file else {})}
    return {"type": "websocket", "endpoint": endpoint, "url": url, "serializers": ["cbor"],
            "options": {"auto_ping_interval": 10000, "auto_ping_timeout": 5000}}


def uplink(site: str, url: str, realm: str, ca_file: str | None = None) -> dict:
    """The rlink from a plant router to HQ: the plant's procedures are registered at HQ and
    HQ's subscribers get the plant's events; HQ's own procedures and events stay at HQ (nothing
    from HQ can collide with, or is needed by, a plant that must run on its own)."""
    return {"id": LINK_ID, "realm": realm, "authid": site,
            "transport": uplink_transport(url, ca_file),
            "forward_local_invocations": True, "forward_remote_invocations": False,
            "forward_local_events": False, "forward_remote_events": True}
