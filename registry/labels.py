"""Labels of runtimes (site, line, cell, product, ...): those set with ``plclink fleet label``
(kept in the database, who and when) over those a runtime publishes itself with its status
(``plclink runtime --label``, plc_protocol/labels.py). The live table shows them merged, and
``--selector`` and the dashboard's filter pick runtimes by them.

A mixin of registry.live.Registry, and the ``set_labels`` procedure.
"""
import time

from sqlalchemy import delete, insert, select
from twisted.logger import Logger

from plc_protocol.labels import EVENT_KWARG, check_label, check_labels
from registry import schema

log = Logger()


def load_labels(connection) -> dict:
    table = schema.runtime_label
    labels = {}
    for row in connection.execute(select(table.c.runtime_id, table.c.key, table.c.value)):
        labels.setdefault(row.runtime_id, {})[row.key] = row.value
    return labels


def write_labels(connection, plc_id: str, changes: dict, by: str, now: float) -> None:
    table = schema.runtime_label
    for key, value in changes.items():
        connection.execute(delete(table).where(table.c.runtime_id == plc_id,
                                               table.c.key == key))
        if value is not None:
            connection.execute(insert(table).values(runtime_id=plc_id, key=key, value=value,
                                                    set_at=now, set_by=by))


class Labels:
    def __init__(self):
        self.set_labels = {}        # ID -> {key: value} set with fleet label
        self.published_labels = {}  # ID -> {key: value} the runtime publishes
        super().__init__()

    def labels(self, plc_id: str) -> dict:
        return {**self.published_labels.get(plc_id, {}), **self.set_labels.get(plc_id, {})}

    def heard_labels(self, plc_id: str, kwargs: dict) -> bool:
        """The labels of a status event; True when they changed."""
        try:
            labels = check_labels(kwargs.get(EVENT_KWARG) or {})
        except ValueError as error:
            log.warn("{id}: labels in its status ignored: {error}", id=plc_id, error=error)
            return False
        if self.published_labels.get(plc_id, {}) == labels:
            return False
        self.published_labels[plc_id] = labels
        return True

    async def change_labels(self, plc_id: str, changes: dict, by: str) -> None:
        await self.db(write_labels, plc_id, changes, by, time.time())
        mine = self.set_labels.setdefault(plc_id, {})
        for key, value in changes.items():
            if value is None:
                mine.pop(key, None)
            else:
                mine[key] = value
        log.info("{id}: labels set by {by}: {changes}", id=plc_id, by=by, changes=changes)
        self.announce("on_runtime", self.document(plc_id))


def checked_changes(labels) -> dict:
    """{key: value, or None to remove it} from the network (null or "" removes)."""
    if not isinstance(labels, dict) or not labels:
        raise ValueError("labels must be a map of key: value (null or \"\" removes a key)")
    changes = {}
    for key, value in labels.items():
        key, value = check_label(key, "" if value is None else value)
        changes[key] = value or None
    return changes
