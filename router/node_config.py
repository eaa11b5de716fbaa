"""Render router/node.yaml into the config crossbar runs: ports, bind address, auth, roles.

Pure: a settings object in, a config dict out, so every rendering rule is tested without
starting crossbar.
"""
import copy
import os
from dataclasses import dataclass

import yaml

from plc_protocol.methods import READING_METHODS

TEMPLATE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node.yaml")
DASHBOARD_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboard")

# Meta API procedures that only read the realm's state (fleet discovery for dashboards).
READING_META_PROCEDURES = (
    "wamp.session.list", "wamp.session.get", "wamp.session.count",
    "wamp.registration.list", "wamp.registration.lookup", "wamp.registration.match",
    "wamp.registration.get", "wamp.subscription.list", "wamp.subscription.lookup",
)


@dataclass(frozen=True)
class RouterSettings:
    principals: str
    realm: str = "Automation"
    host: str = "127.0.0.1"
    websocket_port: int = 8888
    rawsocket_port: int = 8889
    web_port: int = 8080
    dev: bool = False  # anonymous access as role ide: for local development only
    dashboard_dir: str = DASHBOARD_DIR


def load_template() -> dict:
    with open(TEMPLATE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def dashboard_permissions(realm_ids_separator="."):
    """Subscribe to everything; call only the reading methods of any runtime and reading meta."""
    permissions = [{"uri": "", "match": "prefix",
                    "allow": {"call": False, "register": False, "publish": False, "subscribe": True},
                    "cache": True}]
    for method in READING_METHODS:
        permissions.append({"uri": realm_ids_separator + method, "match": "wildcard",
                            "allow": {"call": True, "register": False, "publish": False,
                                      "subscribe": False},
                            "cache": True})
    for procedure in READING_META_PROCEDURES:
        permissions.append({"uri": procedure, "match": "exact",
                            "allow": {"call": True, "register": False, "publish": False,
                                      "subscribe": False},
                            "cache": True})
    return permissions


def transport_auth(settings: RouterSettings) -> dict:
    config = {"principals": os.path.abspath(settings.principals)}
    auth = {
        "wampcra": {"type": "function", "create": "router.auth.create_wampcra_authenticator",
                    "config": config},
        "ticket": {"type": "function", "create": "router.auth.create_ticket_authenticator",
                   "config": config},
    }
    if settings.dev:
        auth["anonymous"] = {"type": "static", "role": "ide"}
    return auth


def render(settings: RouterSettings, template: dict | None = None) -> dict:
    config = copy.deepcopy(template or load_template())
    worker = config["workers"][0]
    realm = worker["realms"][0]
    realm["name"] = settings.realm
    for role in realm["roles"]:
        if role["name"] == "dashboard":
            role["permissions"] = dashboard_permissions()
    for component in worker["components"]:
        component["realm"] = settings.realm
        component["extra"] = {"principals": os.path.abspath(settings.principals)}
    ports = {"websocket": settings.websocket_port, "rawsocket": settings.rawsocket_port,
             "web": settings.web_port}
    for transport in worker["transports"]:
        transport["endpoint"]["port"] = ports[transport["id"]]
        transport["endpoint"]["interface"] = settings.host
        if transport["type"] == "web":
            transport["paths"]["/"]["directory"] = os.path.abspath(settings.dashboard_dir)
            transport["paths"]["ws"]["auth"] = transport_auth(settings)
        else:
            transport["auth"] = transport_auth(settings)
    return config
