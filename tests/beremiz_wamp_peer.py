"""A stand-in for Beremiz's WAMP runtime client, for the tests (protocol.md §7, §9).

It behaves as the real one does on the router: it joins with WAMP-CRA (authid = its ID, secret
from ``wamp.secret`` beside its ``wampconf.json``), registers ``<ID>.<Method>`` for the 14
methods of Beremiz's IDL with the eRPC argument shapes, and publishes nothing: no retained
status, no testament, no log events. Whoever wants its status calls GetPLCstatus.

Behind the procedures is an in-memory PLC object with Beremiz's semantics, written apart from
plclink's runtime on purpose (a reference peer must not share the code it checks):
- blobs are running md5s of seed and chunks; an unknown blob id answers None;
- NewPLC records the md5 before loading, so MatchMD5 answers true after a failed load (Broken);
- a program "loads" when it compiles as Python (the tests' lever: send a file that does not);
- StartPLC only from Stopped, StopPLC answers whether the PLC stopped;
- ResetLogCount raises on an Empty runtime, as Beremiz's does with no PLC library loaded;
- ExtendedCall and every other plclink extension are absent;
- the debugger is upstream's single traced-and-forced list (beremiz_erpc_peer.UpstreamDebugger,
  over the same variables as tests/data/VARIABLES.csv), with WampClient's orders as they
  arrive: None is "not forced", b"" a 0-byte force, refused (-3).

Run: ``python tests/beremiz_wamp_peer.py --wampconf DIR/wampconf.json``; it prints
``beremiz peer <ID> registered 14 procedures`` once it is reachable, and with ``--log-calls``
a line ``call <Method>`` for each call it serves (so tests can count them).
"""
import argparse
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from beremiz_erpc_peer import UpstreamDebugger  # noqa: E402  (tests/: the script's own dir)
from plc_protocol.status import PLCStatus  # noqa: E402

STATUSES = ("Empty", "Stopped", "Started", "Broken")
LEVELS = 4
CRITICAL, WARNING, INFO = 0, 1, 2
EXPOSED = ("AppendChunkToBlob", "GetLogMessage", "GetPLCID", "GetPLCstatus", "GetTraceVariables",
           "MatchMD5", "NewPLC", "PurgeBlobs", "RepairPLC", "ResetLogCount", "SeedBlob",
           "SetTraceVariablesList", "StartPLC", "StopPLC")
READY = "beremiz peer {} registered {} procedures"
CYCLE_SECONDS = 0.02


class BeremizLikePLC:
    def __init__(self):
        self.status = "Empty"
        self.md5 = None
        self.program = None
        self.blobs = {}            # blob id -> (md5 object, bytearray)
        self.logs = [[] for _ in range(LEVELS)]
        self.tick = 0
        self.booted = time.monotonic()
        self.debugger = UpstreamDebugger(self.cycle)

    def log(self, level, text):
        now = time.time()
        self.tick += 1
        self.logs[level].append((text, self.tick, int(now), int(now % 1 * 1e9)))

    # --- blobs -----------------------------------------------------------------------------

    def SeedBlob(self, seed):
        digest = hashlib.md5(bytes(seed))
        self.blobs[digest.digest()] = (digest, bytearray())
        return digest.digest()

    def AppendChunkToBlob(self, data, blobID):
        blob = self.blobs.pop(bytes(blobID), None)
        if blob is None:
            return None
        digest, content = blob
        digest.update(bytes(data))
        content += bytes(data)
        self.blobs[digest.digest()] = blob
        return digest.digest()

    def PurgeBlobs(self):
        self.blobs.clear()

    # --- program ---------------------------------------------------------------------------

    def MatchMD5(self, MD5):
        return self.md5 is not None and self.md5 == MD5

    def NewPLC(self, md5sum, plcObjectBlobID, extrafiles):
        if self.status not in ("Empty", "Stopped", "Broken"):
            return False
        program = self.blobs.get(bytes(plcObjectBlobID))
        files = [self.blobs.get(bytes(blob_id)) for _, blob_id in extrafiles]
        if program is None or None in files:
            self.log(CRITICAL, "NewPLC: unknown blob")
            return False
        self.md5, self.program = md5sum, bytes(program[1])
        self.PurgeBlobs()
        try:
            compile(self.program, "program", "exec", dont_inherit=True)
        except (SyntaxError, ValueError) as error:
            self.status = "Broken"
            self.log(CRITICAL, f"PLC load failed: {error}")
            return False
        self.status = "Stopped"
        self.log(INFO, f"PLC program {md5sum} loaded with {len(files)} extra file(s)")
        return True

    def StartPLC(self):
        if self.status != "Stopped":
            self.log(WARNING, f"StartPLC: the PLC is {self.status}")
            return
        self.status = "Started"
        self.log(INFO, "PLC started")

    def StopPLC(self):
        if self.status != "Started":
            return False
        self.status = "Stopped"
        self.log(INFO, "PLC stopped")
        return True

    def RepairPLC(self):
        self.status, self.md5, self.program = "Empty", None, None
        self.log(INFO, "PLC repaired")

    # --- status, logs, debug -------------------------------------------------------------

    def GetPLCstatus(self):
        return self.status, [len(messages) for messages in self.logs]

    def GetPLCID(self):
        return "", ""

    def GetLogMessage(self, level, msgID):
        messages = self.logs[level] if 0 <= level < LEVELS else []
        return messages[msgID] if 0 <= msgID < len(messages) else None

    def ResetLogCount(self):
        if self.program is None:
            raise RuntimeError("no PLC library loaded")
        self.logs = [[] for _ in range(LEVELS)]

    def cycle(self) -> int:
        return int((time.monotonic() - self.booted) / CYCLE_SECONDS)

    def SetTraceVariablesList(self, orders):
        """Orders reach PLCObject as they arrive: None is "not forced", b"" a 0-byte force
        (refused with -3 for every type)."""
        return self.debugger.set_list([(index, None if force is None else bytes(force))
                                       for index, force in orders],
                                      self.status in ("Stopped", "Started"))

    def GetTraceVariables(self, debugToken):
        status, samples = self.debugger.samples(debugToken, PLCStatus(self.status))
        return status.value, [[tick, data] for tick, data in samples]


def read_config(wampconf_path):
    with open(wampconf_path, encoding="utf-8") as handle:
        conf = json.load(handle)
    with open(os.path.join(os.path.dirname(wampconf_path), "wamp.secret"), encoding="utf-8") as handle:
        secret = handle.read().strip()
    return conf["ID"], conf.get("url", "ws://127.0.0.1:8888"), conf.get("realm", "Automation"), secret


def start_peer(router, plc_id):
    """The peer as a child process on the test router, joined as runtime ``plc_id`` (one of
    harness.TEST_RUNTIME_IDS), logging its calls; stop it with ``.stop()``, kill it with
    ``.signal(SIGKILL)``; ``calls(child, method)`` counts the calls it served."""
    from plclink import local_setup
    from plclink.processes import Child
    workdir = local_setup.ensure_runtime_dir(router.state_dir, plc_id, router.url, router.realm)
    child = Child(f"beremiz-{plc_id}", [sys.executable, os.path.abspath(__file__), "--wampconf",
                                        os.path.join(workdir, "wampconf.json"), "--log-calls"],
                  quiet=True)
    if not child.wait_for_line(READY.format(plc_id, len(EXPOSED)), 30):
        child.stop()
        raise RuntimeError(f"the Beremiz-like peer {plc_id} did not register:\n"
                           + "".join(child.lines[-30:]))
    return child


def calls(child, method: str) -> int:
    return sum(line.strip() == f"call {method}" for line in list(child.lines))


def say(line: str) -> None:
    # Twisted's logging has taken sys.stdout over (and filters it at "warn").
    sys.__stdout__.write(line + "\n")
    sys.__stdout__.flush()


def logged(method):
    def call(*args):
        say(f"call {method.__name__}")
        return method(*args)
    return call


def main(argv=None) -> int:
    from autobahn.twisted.component import Component, run
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wampconf", required=True)
    parser.add_argument("--log-calls", action="store_true")
    args = parser.parse_args(argv)
    plc_id, url, realm, secret = read_config(args.wampconf)
    plc = BeremizLikePLC()
    component = Component(
        transports=[{"url": url, "serializers": ["msgpack", "json"],
                     "max_retries": -1, "max_retry_delay": 2}],
        realm=realm, authentication={"wampcra": {"authid": plc_id, "secret": secret}})

    @component.on_join
    async def joined(session, details):
        for name in EXPOSED:
            method = getattr(plc, name)
            await session.register(logged(method) if args.log_calls else method,
                                   f"{plc_id}.{name}")
        say(READY.format(plc_id, len(EXPOSED)))

    run([component], log_level="warn")
    return 0


if __name__ == "__main__":
    sys.exit(main())
