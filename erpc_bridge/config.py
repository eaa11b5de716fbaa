"""The bridge file: which eRPC runtimes the bridge carries onto the router, read without I/O.

Layout (YAML)::

    runtimes:
      - id: erpc-07                       # the name on the router: erpc-07.<Method>, erpc-07.status
        uri: ERPC://192.168.1.7:3000
      - id: erpc-08
        uri: ERPCS://192.168.1.8:4000#erpc-08
        psk_file: psk/erpc-08.secret      # "ID:secret"; default: the PSK store (plclink pair)
        poll_interval: 1.0                # seconds between status polls (default 0.5)
        variables: build/VARIABLES.csv    # a Beremiz build's variable list: the bridge answers
                                          # ExtendedCall("GetVariables") from it
    discover:                             # also carry runtimes announced on the LAN (zeroconf)
      id: "erpc-*"                        # the announced name, which becomes the ID, must match
      allow: ["erpc-line1-*", 10.1.2.0/24]  # and a name pattern or a network must admit it

Entries of ``runtimes`` win over an announcement with the same ID (docs/discovery.md).

Every mistake names the entry and the key, so an operator editing the file while the bridge
runs sees in its log exactly what to fix (the bridge keeps the previous configuration).
"""
import math
import os
from dataclasses import dataclass

import yaml

from plc_protocol.discovery import DiscoveryRuleError, parse_rule
from plc_protocol.uris import ConnectionURI, URIError, parse_uri, validate_plc_id

DEFAULT_POLL_INTERVAL = 0.5
MIN_POLL_INTERVAL = 0.05
MAX_POLL_INTERVAL = 3600.0
_KEYS = ("id", "uri", "psk_file", "poll_interval", "variables")
_EXAMPLE = ("expected 'runtimes:' followed by a list of entries such as "
            "'- {id: erpc-07, uri: \"ERPC://192.168.1.7:3000\"}'")


class BridgeConfigError(ValueError):
    pass


@dataclass(frozen=True)
class BridgedRuntime:
    plc_id: str
    uri: ConnectionURI
    psk_file: str | None = None  # absolute; None: the PSK store
    poll_interval: float = DEFAULT_POLL_INTERVAL
    variables: str | None = None  # absolute path of a VARIABLES.csv


def parse_config(text: str, base_dir: str = ".", source: str = "bridge config") -> dict:
    """``{ID: BridgedRuntime}`` in file order; relative psk_file paths are from ``base_dir``."""
    return parse_file(text, base_dir, source)[0]


def parse_file(text: str, base_dir: str = ".", source: str = "bridge config") -> tuple:
    """(``{ID: BridgedRuntime}``, the ``discover:`` DiscoveryRule or None)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise BridgeConfigError(f"{source}: not valid YAML: {error}") from None
    if document is None:
        document = {"runtimes": []}
    if not isinstance(document, dict) or not document or not set(document) <= {
            "runtimes", "discover"}:
        raise BridgeConfigError(f"{source}: {_EXAMPLE}")
    rule = None
    if document.get("discover") is not None:
        try:
            rule = parse_rule(document["discover"], f"{source}: discover")
        except DiscoveryRuleError as error:
            raise BridgeConfigError(str(error)) from None
    entries = document.get("runtimes") or []
    if not isinstance(entries, list):
        raise BridgeConfigError(f"{source}: 'runtimes' must be a list; {_EXAMPLE}")
    runtimes = {}
    for number, entry in enumerate(entries, 1):
        runtime = _parse_entry(entry, f"{source}: runtime #{number}", base_dir)
        if runtime.plc_id in runtimes:
            raise BridgeConfigError(f"{source}: runtime #{number}: id {runtime.plc_id!r} appears "
                                    "twice; each ID is one set of procedures on the router")
        runtimes[runtime.plc_id] = runtime
    return runtimes, rule


def _parse_entry(entry, where, base_dir) -> BridgedRuntime:
    if not isinstance(entry, dict):
        raise BridgeConfigError(f"{where}: expected a mapping with 'id' and 'uri', got {entry!r}")
    unknown = [str(key) for key in entry if key not in _KEYS]
    if unknown:
        raise BridgeConfigError(f"{where}: unknown key(s) {', '.join(unknown)}; "
                                f"known: {', '.join(_KEYS)}")
    for key in ("id", "uri"):
        if entry.get(key) in (None, ""):
            raise BridgeConfigError(f"{where}: missing '{key}'")
    try:
        plc_id = validate_plc_id(str(entry["id"]))
    except URIError as error:
        raise BridgeConfigError(f"{where}: id: {error}") from None
    where = f"{where} ({plc_id})"
    try:
        uri = parse_uri(str(entry["uri"]))
    except URIError as error:
        raise BridgeConfigError(f"{where}: uri: {error}") from None
    if not uri.is_erpc:
        raise BridgeConfigError(f"{where}: uri {str(uri)!r} is not ERPC:// or ERPCS://; the "
                                "bridge carries eRPC runtimes (WAMP runtimes join the router "
                                "themselves)")
    psk_file = entry.get("psk_file")
    if psk_file is not None:
        if uri.scheme != "ERPCS":
            raise BridgeConfigError(f"{where}: psk_file is only used with ERPCS:// URIs")
        if not isinstance(psk_file, str) or not psk_file:
            raise BridgeConfigError(f"{where}: psk_file must be a file path")
        psk_file = _path(base_dir, psk_file)
    variables = entry.get("variables")
    if variables is not None:
        if not isinstance(variables, str) or not variables:
            raise BridgeConfigError(f"{where}: variables must be the path of a Beremiz build's "
                                    "VARIABLES.csv")
        variables = _path(base_dir, variables)
    interval = entry.get("poll_interval", DEFAULT_POLL_INTERVAL)
    if (isinstance(interval, bool) or not isinstance(interval, (int, float))
            or not math.isfinite(interval)
            or not MIN_POLL_INTERVAL <= interval <= MAX_POLL_INTERVAL):
        raise BridgeConfigError(f"{where}: poll_interval must be a number of seconds from "
                                f"{MIN_POLL_INTERVAL:g} to {MAX_POLL_INTERVAL:g}, got {interval!r}")
    return BridgedRuntime(plc_id, uri, psk_file, float(interval), variables)


def _path(base_dir: str, path: str) -> str:
    return os.path.normpath(os.path.join(base_dir, os.path.expanduser(path)))


def describe(runtime: BridgedRuntime) -> str:
    return f"{runtime.plc_id} ({runtime.uri})"
