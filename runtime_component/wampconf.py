"""The runtime's ``wampconf.json`` (protocol.md §7), its defaults, and the WAMP-CRA secret.

The secret comes from the ``wamp.secret`` file beside the config (Beremiz's convention) or from
the environment variable PLCLINK_WAMP_SECRET; it is never taken from the command line (which
other users of the machine can read) and never logged.
"""
import json
import os
from dataclasses import dataclass

from plc_protocol.uris import validate_plc_id
from plc_protocol.wamp_conventions import DEFAULT_REALM, DEFAULT_URL
from plc_protocol.wamp_transport import MAX_RETRY_DELAY

SECRET_ENV = "PLCLINK_WAMP_SECRET"


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class WampConf:
    ID: str = "wamptest"
    active: bool = False
    realm: str = DEFAULT_REALM
    url: str = DEFAULT_URL
    max_delay: float = MAX_RETRY_DELAY  # Beremiz: 300; more than the cap is taken as the cap
    auto_ping_interval: float = 10
    auto_ping_timeout: float = 5


def _number(document, section, key, default, path):
    value = document.get(section, {}).get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigError(f"{path}: {section}.{key} must be a positive number, got {value!r}")
    return value


def load_wampconf(path: str) -> WampConf:
    """Read and check wampconf.json; a missing file gives the defaults (WAMP inactive)."""
    if not os.path.exists(path):
        return WampConf()
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except (OSError, ValueError) as error:
        raise ConfigError(f"{path}: not readable JSON: {error}") from None
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: expected a JSON object")
    defaults = WampConf()
    try:
        plc_id = validate_plc_id(document.get("ID", defaults.ID))
    except ValueError as error:
        raise ConfigError(f"{path}: ID: {error}") from None
    active = document.get("active", defaults.active)
    if not isinstance(active, bool):
        raise ConfigError(f"{path}: 'active' must be true or false")
    url = document.get("url", defaults.url)
    if not isinstance(url, str) or not url.startswith(("ws://", "wss://", "rs://", "tcp://")):
        raise ConfigError(f"{path}: 'url' must be a ws:// or wss:// address, got {url!r}")
    realm = document.get("realm", defaults.realm)
    if not isinstance(realm, str) or not realm:
        raise ConfigError(f"{path}: 'realm' must be a non-empty string")
    return WampConf(
        ID=plc_id, active=active, realm=realm, url=url,
        max_delay=_number(document, "clientFactoryOptions", "maxDelay", defaults.max_delay, path),
        auto_ping_interval=_number(document, "protocolOptions", "autoPingInterval",
                                   defaults.auto_ping_interval, path),
        auto_ping_timeout=_number(document, "protocolOptions", "autoPingTimeout",
                                  defaults.auto_ping_timeout, path))


def write_wampconf(path: str, conf: WampConf) -> None:
    document = {"ID": conf.ID, "active": conf.active, "realm": conf.realm, "url": conf.url,
                "clientFactoryOptions": {"maxDelay": conf.max_delay},
                "protocolOptions": {"autoPingInterval": conf.auto_ping_interval,
                                    "autoPingTimeout": conf.auto_ping_timeout}}
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)


def read_secret(config_dir: str, plc_id: str, path: str | None = None) -> str:
    """The WAMP-CRA secret: the given file, else PLCLINK_WAMP_SECRET, else ``wamp.secret``
    (``secret`` or ``ID:secret``) beside wampconf.json."""
    if not path and os.environ.get(SECRET_ENV):
        return os.environ[SECRET_ENV]
    path = path or os.path.join(config_dir, "wamp.secret")
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read().strip()
    except OSError:
        raise ConfigError(f"no WAMP secret: write it to {path} (mode 600) or set {SECRET_ENV}") from None
    if not text:
        raise ConfigError(f"{path} is empty")
    return text.split(":", 1)[1] if text.startswith(f"{plc_id}:") else text
