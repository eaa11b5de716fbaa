"""What a person may do on the router: their role's rights, limited to their scope.

viewer reads; operator also starts, stops, forces, releases, writes, restarts, traces,
acknowledges and shelves alarms; engineer also transfers, deploys, rolls back (every other
runtime method and the registry's and rollouts' writing procedures) and publishes outside
runtime names;
admin also manages accounts (plclink.people.*) and sessions (every meta procedure).

A scope (sites, runtime ID patterns) limits every name under ``<ID>.``: outside it a person
may neither call, nor subscribe, nor publish. Pattern subscriptions and the registry's fleet-wide
reading procedures are not split by runtime, so they are not limited (reading only).
"""
from plc_protocol.methods import READING_METHODS
from plc_protocol.wamp_conventions import split_name
from plc_protocol import registry_names as registry_api
from router.audit_journal import QUERY_PROCEDURE
from router.people import PROCEDURE_PREFIX

# The runtime methods an operator may call; what is neither reading nor here needs an engineer.
OPERATOR_METHODS = ("StartPLC", "StopPLC", "Force", "Release", "Write", "RestartPLC",
                    "SetTraceVariablesList", "ResetLogCount")
OPERATOR_PROCEDURES = tuple(registry_api.name(short) for short in registry_api.OPERATING)


def required_role(uri: str, action: str, reading_meta=()) -> str | None:
    """The least role that may do ``action`` on ``uri``; None: no person may."""
    name = split_name(uri)
    if action == "register":
        return None
    if action == "subscribe":
        return "viewer"
    if action == "publish":
        return None if uri.startswith(registry_api.PREFIX) or uri.startswith("wamp.") \
            else "engineer"
    if action != "call":
        return None
    if name is not None and not uri.startswith(registry_api.PREFIX):
        if name[1] in READING_METHODS:
            return "viewer"
        return "operator" if name[1] in OPERATOR_METHODS else "engineer"
    if uri in reading_meta or registry_api.reading_procedure(uri) or uri == QUERY_PROCEDURE:
        return "viewer"
    if uri in OPERATOR_PROCEDURES:
        return "operator"
    if uri.startswith(("wamp.", PROCEDURE_PREFIX)):
        return "admin"
    return "engineer"


def person_may(person, uri: str, action: str, site_of, reading_meta=(),
               may_publish=lambda uri: True) -> tuple[bool, str]:
    """(allowed, why not) for ``person`` doing ``action`` on ``uri``; ``site_of(ID)`` names
    the site holding a runtime; ``may_publish(uri)``: whether the name is free of the runtimes'
    (the IDE role's rule)."""
    if person is None or person.disabled:
        return False, "account disabled or removed"
    needed = required_role(uri, action, reading_meta)
    if needed is None:
        return False, f"no person may {action} {uri}"
    if not person.at_least(needed):
        return False, f"{action} {uri} needs role {needed} (has {person.role})"
    if action == "publish" and not may_publish(uri):
        return False, f"{uri} is a runtime's name: only that runtime publishes it"
    name = split_name(uri)
    if name is not None and not uri.startswith(registry_api.PREFIX) and \
            not person.in_scope(name[0], site_of(name[0])):
        return False, f"runtime {name[0]} is outside {person.name}'s scope " \
                      f"({person.describe_scope()})"
    return True, ""
