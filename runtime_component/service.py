"""``plclink runtime``: one PLC runtime process (PLC object, cyclic task, WAMP component)."""
import argparse
import hashlib
import os
import sys

import txaio
from twisted.internet import reactor, task
from twisted.logger import Logger

from plc_protocol.log_levels import LogLevel
from plc_protocol.uris import validate_plc_id
from runtime_component import erpc_server, options, psk as psk_front
from plc_protocol.wamp_transport import transport_config
from runtime_component.health import RuntimeHealth
from runtime_component.plc_object import PLCObject
from runtime_component.wamp_component import RuntimePublisher, make_component
from runtime_component.wampconf import ConfigError, WampConf, load_wampconf, read_secret

log = Logger()
HOUSEKEEPING_INTERVAL = 0.05


def resolve_config(args) -> WampConf:
    conf = load_wampconf(args.wampconf or os.path.join(args.workdir, "wampconf.json"))
    changes = {}
    if args.id:
        changes["ID"] = validate_plc_id(args.id)
    if args.url:
        changes.update(url=args.url, active=True)
    if args.realm:
        changes["realm"] = args.realm
    if args.no_wamp:
        changes["active"] = False
    return WampConf(**{**conf.__dict__, **changes})


def install_files(plc: PLCObject, program_path: str, extra_paths: list) -> bool:
    """Install an initial program from local files through the PLC object's own transfer
    methods, unless a program is installed already (it may have been transferred since)."""
    def read(path):
        with open(path, "rb") as handle:
            return handle.read()
    if plc.installation.md5() is not None:
        return False
    program = read(program_path)
    md5 = hashlib.md5(program).hexdigest()
    plc.PurgeBlobs()
    extras = []
    for path in extra_paths:
        blob = plc.AppendChunkToBlob(read(path), plc.SeedBlob(os.path.basename(path).encode()))
        extras.append((os.path.basename(path), blob))
    blob = plc.AppendChunkToBlob(program, plc.SeedBlob(md5.encode()))
    plc.NewPLC(md5, blob, extras)
    return True


def run(args) -> int:
    try:
        os.makedirs(args.workdir, exist_ok=True)
        conf = resolve_config(args)
        secret = read_secret(os.path.dirname(os.path.abspath(
            args.wampconf or os.path.join(args.workdir, "wampconf.json"))), conf.ID,
            args.secret_file) if conf.active else None
        args.psk_file = psk_front.prepare_psk_file(args, conf.ID)
        psk = psk_front.read_secret_file(args.psk_file) if args.psk_file else None
        if conf.active:
            transport_config(conf.url, ca_file=args.ca_file)  # fail now on a bad URL or CA file
        for path in [args.program, *args.extra] if args.program else args.extra:
            if not os.path.isfile(path):
                raise ConfigError(f"no such file: {path}")
    except (ConfigError, ValueError, OSError) as error:
        print(f"plclink runtime: {error}", file=sys.stderr)
        return 2
    if args.period_ms <= 0 or (args.watchdog_ms is not None and args.watchdog_ms <= 0):
        print("plclink runtime: --period-ms and --watchdog-ms must be positive", file=sys.stderr)
        return 2

    # The cycle thread shares the GIL with the reactor; Python's default 5 ms switch interval
    # would let network work delay a 10 ms cycle by half a period.
    sys.setswitchinterval(0.0005)
    txaio.use_twisted()
    txaio.start_logging(level="info")
    plc = PLCObject(conf.ID, args.workdir, period=args.period_ms / 1000,
                    watchdog=args.watchdog_ms / 1000 if args.watchdog_ms else None, psk=psk)
    publisher = RuntimePublisher(plc)
    plc.on_status = publisher.status_changed

    def on_log(message):
        publisher.log_added(message)
        if message.level <= LogLevel.WARNING:
            log.warn("PLC {severity}: {text}", severity=message.level.name, text=message.text)
    plc.logs.on_message = on_log

    try:
        erpc_server.serve(args, plc)
    except erpc_server.ErpcListenError as error:
        print(f"plclink runtime: {error}", file=sys.stderr)
        return 2

    def start():
        plc.boot(autostart=args.autostart and not args.program)
        if args.program:
            try:
                if install_files(plc, args.program, args.extra):
                    log.info("installed {program}", program=args.program)
            except Exception as error:
                log.error("could not install {program}: {error}", program=args.program, error=error)
            if args.autostart:
                plc.StartPLC()
        publisher.start()
        task.LoopingCall(plc.housekeeping).start(HOUSEKEEPING_INTERVAL, now=False)
        where = f"WAMP {conf.url} realm {conf.realm}" if conf.active else "no WAMP"
        log.info("runtime {id} ready: {status}, program {md5}, workdir {workdir}, {where}",
                 id=conf.ID, status=plc.status.value, md5=plc.installation.md5() or "none",
                 workdir=os.path.abspath(args.workdir), where=where)
        health = RuntimeHealth(os.path.join(args.workdir, "health.json"), plc, conf.active)
        health.start()
        if conf.active:
            make_component(plc, conf, secret, publisher, args.ca_file, health).start(reactor)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", plc.shutdown)
    reactor.run()
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="plclink runtime", description=__doc__)
    options.add_arguments(parser)
    return run(parser.parse_args(argv))
