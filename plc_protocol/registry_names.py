"""The registry's names on the router: one prefix, the procedures, the topics (registry/API.md says
what each takes and returns).

Here in the protocol layer, not in the registry package, because the router's authorizer, the
IDE and the dashboard import them: they depend on the names, never on the registry's code.
"""
PREFIX = "plclink."            # reserved: only the router's authorizer and the registry use it
REGISTRY_PREFIX = PREFIX + "registry."
AUDIT_TOPIC = PREFIX + "audit"  # published by the router's authorizer, one per control call

# Procedures any reading role (ide, dashboard) may call.
READING = ("runtimes", "runtime", "variables", "trend", "status_history", "logs", "alarms",
           "rules", "lineage", "audit", "program", "diff", "deployments", "stats",
           "force_history", "rollouts", "rollout", "alarm_state", "notifications")
# Procedures that change what the registry holds: role ide only (the caller is recorded).
WRITING = ("ack", "store_program", "record_deployment", "add_rule", "remove_rule",
           "set_labels", "rollout_begin", "rollout_update", "ack_all", "shelve", "unshelve")
# Of these, what an operator may do (people's roles, router/person_rights.py).
OPERATING = ("ack", "ack_all", "shelve", "unshelve")
TOPICS = ("on_runtime", "on_alarm", "on_rollout")

ERROR_NOT_FOUND = REGISTRY_PREFIX + "error.not_found"
ERROR_INVALID = REGISTRY_PREFIX + "error.invalid_argument"
ERROR_UNAVAILABLE = REGISTRY_PREFIX + "error.unavailable"


def name(short: str) -> str:
    """Full URI of a registry procedure or topic."""
    if short not in READING + WRITING + TOPICS:
        raise ValueError(f"no registry procedure or topic {short!r}")
    return REGISTRY_PREFIX + short


def reading_procedure(uri: str) -> bool:
    return uri.startswith(REGISTRY_PREFIX) and uri[len(REGISTRY_PREFIX):] in READING


def registry_procedure(uri: str) -> bool:
    return uri.startswith(REGISTRY_PREFIX) and uri[len(REGISTRY_PREFIX):] in READING + WRITING


def registry_topic(uri: str) -> bool:
    return uri.startswith(REGISTRY_PREFIX) and uri[len(REGISTRY_PREFIX):] in TOPICS
