"""Programs the registry never saw transferred (``plclink up``'s demo, ``runtime --program``, a
transfer over a direct eRPC link) still reach the program store: when a runtime shows an md5
the store lacks, the registry reads the installed set back from it
(``ExtendedCall("GetProgramFiles")``, a reading call; plc_protocol/program_files.py), so that a
rollback to it works.

A mixin of registry.live.Registry.
"""
from twisted.internet import defer, task, reactor
from twisted.logger import Logger

from plc_protocol.program_files import EXTENDED_CALL, decode_program_files
from registry import queries

SETTLE = 5.0   # an IDE that just installed stores the set itself: let it, then look
log = Logger()


class StoreFill:
    def __init__(self):
        self.store_seen = set()     # md5s looked at (stored, asked, or not to be had)
        super().__init__()

    def program_seen(self, plc_id: str, md5: str) -> None:
        if md5 in self.store_seen or self.fleet is None:
            return
        self.store_seen.add(md5)
        defer.ensureDeferred(self._fill(plc_id, md5))

    async def _fill(self, plc_id: str, md5: str) -> None:
        await task.deferLater(reactor, SETTLE, lambda: None)
        try:
            if await self.db(queries.program_files, md5) is not None or self.fleet is None:
                return
            answer = await self.fleet.client(plc_id).connector.call("ExtendedCall",
                                                                     EXTENDED_CALL, b"")
            installed, program, extras = decode_program_files(answer)
            if installed != md5:
                self.store_seen.discard(md5)   # changed meanwhile: its own event comes
                return
            stored, _ = await self.db(queries.store_program, program, extras, plc_id)
        except Exception as error:   # a Beremiz runtime has no such call; never retried
            log.info("{id}: program {md5} not read back into the store: {error}", id=plc_id,
                     md5=md5, error=error)
            return
        if stored != md5:
            log.info("{id}: program {md5} kept as {stored} (a build's own md5 is not the files' "
                     "identity)", id=plc_id, md5=md5, stored=stored)
        else:
            log.info("{id}: program {md5} read back into the store", id=plc_id, md5=md5)
