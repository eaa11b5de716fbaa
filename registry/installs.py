"""Installs: which program each runtime got, when, by whom and from which fleet deploy
(the router's word on the NewPLC caller; the deploy the IDE recorded).

A mixin of registry.live.Registry.
"""
import time

from twisted.logger import Logger

from plc_protocol.methods import INSTALL_METHODS
from plc_protocol.status import PLCStatus
from registry.runtime_table import KIND_NATIVE

log = Logger()


class Installs:
    def __init__(self):
        self.deploying = {}         # ID -> (md5, deployment) until its install is seen
        super().__init__()

    def record_install(self, plc_id, md5, now) -> None:
        """An install: by whoever's NewPLC on this runtime is still awaiting its effect (the
        router's word); by nobody known when the registry only saw the result."""
        caller = next((call for call in self.pending.get(plc_id, ())
                       if call["method"] in INSTALL_METHODS), None)
        deployment = self.deploying.pop(plc_id, (None, None))
        self.writer.put("install", {"runtime_id": plc_id, "md5": md5, "installed_at": now,
                                    "installed_by": caller["authid"] if caller else None,
                                    "deployment": deployment[1] if deployment[0] == md5 else None})

    async def confirm_installs(self, md5, ids) -> None:
        """Runtimes whose status events carry no md5 (bridged, Beremiz) show a stored program
        as installed once they say so themselves (MatchMD5, a reading call)."""
        for plc_id in ids:
            row = self.runtimes.get(plc_id)
            if row is None or row["kind"] == KIND_NATIVE or row["md5"] == md5 or not row["online"]:
                continue
            try:
                matched = await self.fleet.client(plc_id).connector.call("MatchMD5", md5)
            except Exception as error:
                log.warn("{id}: could not confirm program {md5}: {error}", id=plc_id, md5=md5,
                         error=error)
                continue
            if matched and self.runtimes[plc_id]["md5"] != md5:
                self.apply_status(plc_id, PLCStatus.parse(row["status"]), row["log_counts"], md5,
                                  row["platform"], row["kind"], time.time())

    def deployed(self, number, md5, ids) -> None:
        """A fleet deploy's runtimes: their installs (recorded already, or still to be heard)
        belong to deployment ``number``."""
        for plc_id in ids:
            self.writer.put("install_deployment", {"runtime_id": plc_id, "md5": md5,
                                                   "deployment": number})
            self.deploying[plc_id] = (md5, number)
