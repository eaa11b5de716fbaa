"""Zeroconf (mDNS/DNS-SD) announcements of eRPC runtimes, as Beremiz makes and reads them
(docs/discovery.md).

Upstream's runtime (runtime/ServicePublisher.py) registers ``<name>._Beremiz._tcp.local.`` with
the TXT records ``description`` ("Beremiz remote PLC") and ``protocol`` (the URI scheme:
``ERPC``, or ``ERPCS`` behind TLS-PSK); the IDE's discovery dialog (controls/DiscoveryPanel.py)
shows the first label of the name, the protocol, the first address and the port, and connects
to ``SCHEME://address:port`` (``#name`` added for a scheme ending in S, the PSK identity).
Pure: no sockets here (the zeroconf package does the I/O in runtime_component/announce.py and
ide_component/discovery.py).
"""
import fnmatch
import ipaddress
from dataclasses import dataclass

SERVICE_TYPE = "_Beremiz._tcp.local."
DESCRIPTION = "Beremiz remote PLC"
PROTOCOLS = ("ERPC", "ERPCS")


def service_name(name: str) -> str:
    return f"{name}.{SERVICE_TYPE}"


def properties(protocol: str) -> dict:
    """The TXT records, exactly upstream's keys."""
    return {"description": DESCRIPTION, "protocol": protocol}


@dataclass(frozen=True)
class Announcement:
    name: str            # the first label: the runtime's ID for plclink runtimes
    protocol: str
    address: str
    port: int

    @property
    def uri(self) -> str:
        """What the Beremiz IDE connects to when this line is chosen in its dialog."""
        host = f"[{self.address}]" if ":" in self.address else self.address
        suffix = f"#{self.name}" if self.protocol.endswith("S") else ""
        return f"{self.protocol}://{host}:{self.port}{suffix}"

    def as_dict(self) -> dict:
        return {"name": self.name, "protocol": self.protocol, "address": self.address,
                "port": self.port, "uri": self.uri}


def announcement(full_name: str, txt: dict, addresses: list, port) -> Announcement | None:
    """An announcement as the IDE reads it (``txt``: bytes keys and values as zeroconf gives
    them); None for one that lacks what the IDE needs."""
    if not full_name.endswith("." + SERVICE_TYPE) or not addresses or not port:
        return None
    protocol = txt.get(b"protocol")
    if not protocol:
        return None
    name = full_name[:-len(SERVICE_TYPE) - 1].split(".")[0]
    return Announcement(name, protocol.decode("utf-8", "replace"), str(addresses[0]), int(port))


class DiscoveryRuleError(ValueError):
    pass


@dataclass(frozen=True)
class DiscoveryRule:
    """Which announced runtimes a bridge carries by itself: the name (which becomes the
    runtime's ID) must match ``ids`` and an ``allow`` entry must admit it, by name pattern or
    by the network its address is in. Nothing else is carried."""
    ids: tuple
    allow_names: tuple = ()
    allow_networks: tuple = ()
    protocols: tuple = ("ERPC",)

    def admits(self, found: Announcement) -> bool:
        if found.protocol not in self.protocols:
            return False
        if not any(fnmatch.fnmatchcase(found.name, pattern) for pattern in self.ids):
            return False
        if any(fnmatch.fnmatchcase(found.name, pattern) for pattern in self.allow_names):
            return True
        try:
            address = ipaddress.ip_address(found.address)
        except ValueError:
            return False
        return any(address in network for network in self.allow_networks)


def parse_rule(entry, where: str) -> DiscoveryRule:
    """The ``discover:`` mapping of a bridge file: ``id`` (pattern or list), ``allow`` (names,
    patterns or networks such as 10.1.2.0/24), ``protocols`` (default [ERPC])."""
    if not isinstance(entry, dict):
        raise DiscoveryRuleError(f"{where}: expected a mapping like {{id: 'erpc-*', allow: "
                                 "['10.1.2.0/24']}")
    unknown = [str(key) for key in entry if key not in ("id", "allow", "protocols")]
    if unknown:
        raise DiscoveryRuleError(f"{where}: unknown key(s) {', '.join(unknown)}; known: id, "
                                 "allow, protocols")
    ids = _strings(entry.get("id"), f"{where}: id")
    allow = _strings(entry.get("allow"), f"{where}: allow")
    names, networks = [], []
    for item in allow:
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            names.append(item)
    protocols = _strings(entry.get("protocols", ["ERPC"]), f"{where}: protocols")
    wrong = [p for p in protocols if p not in PROTOCOLS]
    if wrong:
        raise DiscoveryRuleError(f"{where}: protocols: {', '.join(wrong)} is not one of "
                                 f"{', '.join(PROTOCOLS)}")
    return DiscoveryRule(tuple(ids), tuple(names), tuple(networks), tuple(protocols))


def _strings(value, where) -> list:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(
            isinstance(item, str) and item for item in items):
        raise DiscoveryRuleError(f"{where}: give a name, pattern or network, or a list of them")
    return items
