"""Render router/node.yaml into the config crossbar runs: ports, bind address, auth, roles.

Pure: a settings object in, a config dict out, so every rendering rule is tested without
starting crossbar.
"""
import copy
import os
from dataclasses import dataclass

import yaml

from plc_protocol.uris import DEFAULT_PORTS
from router import anonymous, origins, people, sites, tls_policy, web_security


TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node.yaml")
DASHBOARD_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboard")

@dataclass(frozen=True)
class RouterSettings:
    principals: str
    realm: str = "Automation"
    host: str = "127.0.0.1"
    websocket_port: int = DEFAULT_PORTS["WAMP"]  # Beremiz runtimes default to it
    rawsocket_port: int = 8889
    web_port: int = 8080
    dev: bool = False  # anonymous access as role ide: for local development only
    # Anonymous access as this role (ide or dashboard) for clients that cannot authenticate,
    # such as the Beremiz IDE's WAMP connector; only where the network is trusted.
    anonymous_role: str | None = None
    dashboard_dir: str = DASHBOARD_DIR
    tls_cert: str | None = None  # with tls_key: a WAMPS (wss://) endpoint on tls_port
    tls_key: str | None = None
    tls_port: int = 8443
    web_tls: bool = False  # the dashboard (and its /ws) over TLS too, with the same certificate
    site: str | None = None       # with uplink: this plant router's name at HQ
    uplink: str | None = None     # HQ's router, ws:// or wss://
    uplink_ca: str | None = None  # CA file that HQ's wss:// certificate is checked against
    node_key: str | None = None   # the plant's node key (plclink secrets --node-key)
    allowed_origins: tuple = ()   # web pages besides the dashboard that may open a WebSocket
    anonymous_from: tuple = ()    # where anonymous clients may come from; none: loopback
    tls_min_version: str = tls_policy.DEFAULT_MIN_VERSION
    people: str | None = None     # named accounts (router/people.py); default beside principals
    audit_dir: str | None = None  # the audit journal; default STATE_DIR/audit beside principals
    audit_keep_days: float = 400
    login_max_failures: int = 5   # failed logins in a row of one account at one address
    login_address_max_failures: int = 20   # ... of all accounts at one address
    login_lockout_s: float = 300

    @property
    def anonymous(self) -> str | None:
        """The role anonymous clients get, or None when they are refused."""
        return "ide" if self.dev else self.anonymous_role

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)

    def origins(self) -> list[str]:
        """Browser origins the WebSocket endpoints accept (router/origins.py)."""
        return origins.dashboard_origins(self.host, self.web_port, self.web_tls) + [
            origins.normalize(url) for url in self.allowed_origins]


def load_template() -> dict:
    with open(TEMPLATE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def auth_config(settings: RouterSettings) -> dict:
    """What the authenticators and the authorizer component share (router/login_guard.py)."""
    beside = os.path.dirname(os.path.abspath(settings.principals))
    return {"principals": os.path.abspath(settings.principals),
            "people": os.path.abspath(settings.people or os.path.join(beside, people.FILE_NAME)),
            "audit_dir": os.path.abspath(settings.audit_dir or os.path.join(beside, "audit")),
            "audit_keep_days": settings.audit_keep_days, "site": settings.site,
            "throttle": {"max_failures": settings.login_max_failures,
                         "address_max_failures": settings.login_address_max_failures,
                         "lockout": settings.login_lockout_s}}


def transport_auth(settings: RouterSettings) -> dict:
    config = auth_config(settings)
    auth = {
        "wampcra": {"type": "function", "create": "router.auth.create_wampcra_authenticator",
                    "config": config},
        "ticket": {"type": "function", "create": "router.auth.create_ticket_authenticator",
                   "config": config},
        # plant routers linking to this one (principals with role site)
        "cryptosign": {"type": "function",
                       "create": "router.auth.create_cryptosign_authenticator",
                       "config": config},
    }
    if settings.anonymous:
        auth["anonymous"] = anonymous.transport_auth()
    return auth


def add_anonymous_gate(settings: RouterSettings, worker: dict) -> None:
    """The component that decides who may be anonymous, and its role (router/anonymous.py)."""
    role, component = anonymous.gate(
        settings.anonymous, anonymous.networks(settings.anonymous_from), settings.realm)
    worker["realms"][0]["roles"].append(role)
    worker["components"].append(component)


def harden_transport(settings: RouterSettings, transport: dict) -> None:
    """Origins, TLS policy, security headers (router/origins.py, tls_policy.py,
    web_security.py)."""
    endpoint = transport["endpoint"]
    if "tls" in endpoint:
        endpoint["tls"] = tls_policy.endpoint_tls(
            endpoint["tls"]["certificate"], endpoint["tls"]["key"], settings.tls_min_version)
    options = origins.websocket_options(settings.origins())
    if transport["type"] == "websocket":
        transport.setdefault("options", {}).update(options)
    elif transport["type"] == "web":
        transport["paths"]["ws"].setdefault("options", {}).update(options)
        transport["paths"]["/"] = web_security.root_config(transport["paths"]["/"]["directory"])
        transport.setdefault("options", {})["hsts"] = "tls" in endpoint


def render(settings: RouterSettings, template: dict | None = None) -> dict:
    config = copy.deepcopy(template or load_template())
    worker = config["workers"][0]
    realm = worker["realms"][0]
    realm["name"] = settings.realm
    if settings.uplink:
        realm["rlinks"] = [sites.uplink(settings.site, settings.uplink, settings.realm,
                                        settings.uplink_ca)]
    for component in worker["components"]:
        component["realm"] = settings.realm
        component["extra"] = auth_config(settings)
    if settings.anonymous:
        add_anonymous_gate(settings, worker)
    ports = {"websocket": settings.websocket_port, "rawsocket": settings.rawsocket_port,
             "web": settings.web_port, "websocket_tls": settings.tls_port}
    if not settings.tls:
        worker["transports"] = [t for t in worker["transports"] if t["id"] != "websocket_tls"]
    for transport in worker["transports"]:
        if "tls" in transport["endpoint"] or (transport["type"] == "web" and settings.web_tls):
            transport["endpoint"]["tls"] = {"certificate": os.path.abspath(settings.tls_cert),
                                            "key": os.path.abspath(settings.tls_key)}
        transport["endpoint"]["port"] = ports[transport["id"]]
        transport["endpoint"]["interface"] = settings.host
        if transport["type"] == "web":
            transport["paths"]["/"]["directory"] = os.path.abspath(settings.dashboard_dir)
            transport["paths"]["ws"]["auth"] = transport_auth(settings)
        else:
            transport["auth"] = transport_auth(settings)
        harden_transport(settings, transport)
    return config
