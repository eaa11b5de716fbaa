"""``plclink runtime``: one PLC runtime process (PLC object, WAMP component, eRPC server),
which runs the loaded program in a program process of its own (program_host.py)."""
import argparse
import os
import sys

import txaio
from twisted.internet import reactor
from twisted.logger import Logger

from plc_protocol import metrics_endpoint, service_log
from plc_protocol import program_signature
from plc_protocol.log_levels import LogLevel
from plc_protocol.installation_files import read_installation
from plc_protocol.uris import validate_plc_id
from runtime_component import erpc_server, metrics, options, psk as psk_front
from plc_protocol.wamp_transport import transport_config
from runtime_component.health import RuntimeHealth
from runtime_component.plc_object import PLCObject
from runtime_component.options import MIN_MEMORY_MB
from runtime_component.wamp_component import RuntimePublisher, make_component
from plc_protocol.labels import EVENT_KWARG as LABELS_KWARG, parse_labels
from runtime_component.wampconf import ConfigError, WampConf, load_wampconf, read_secret

log = Logger()


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
    if plc.installation.md5() is not None:
        return False
    files = read_installation(program_path, extra_paths)  # as the IDE reads them: a transfer
    md5 = files.md5                                       # of these same files is skipped
    plc.PurgeBlobs()
    extras = [(name, plc.AppendChunkToBlob(data, plc.SeedBlob(name.encode())))
              for name, data in files.extras]
    blob = plc.AppendChunkToBlob(files.program, plc.SeedBlob(md5.encode()))
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
        if args.announce and not args.erpc:
            raise ConfigError("--announce announces the eRPC server: give --erpc too")
        labels = parse_labels(args.label)
        for path in [args.program, *args.extra] if args.program else args.extra:
            if not os.path.exists(path):
                raise ConfigError(f"no such file: {path}")
        trusted = program_signature.load_trusted(args.trusted_keys) if args.trusted_keys \
            else None
    except (ConfigError, ValueError, OSError) as error:
        print(f"plclink runtime: {error}", file=sys.stderr)
        return 2
    if args.period_ms <= 0 or (args.watchdog_ms is not None and args.watchdog_ms <= 0):
        print("plclink runtime: --period-ms and --watchdog-ms must be positive", file=sys.stderr)
        return 2
    if args.program_memory_mb < 0 or 0 < args.program_memory_mb < MIN_MEMORY_MB:
        print(f"plclink runtime: --program-memory-mb must be 0 (no limit) or at least "
              f"{MIN_MEMORY_MB}", file=sys.stderr)
        return 2

    txaio.use_twisted()
    service_log.start_logging()
    plc = PLCObject(conf.ID, args.workdir, period=args.period_ms / 1000,
                    watchdog=args.watchdog_ms / 1000 if args.watchdog_ms else None, psk=psk,
                    memory_mb=args.program_memory_mb)
    plc.trusted_keys = trusted
    publisher = RuntimePublisher(plc, {LABELS_KWARG: labels} if labels else None)
    plc.on_status = publisher.status_changed
    plc.on_forces = publisher.forces_changed

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
        where = f"WAMP {conf.url} realm {conf.realm}" if conf.active else "no WAMP"
        log.info("runtime {id} ready: {status}, program {md5}, workdir {workdir}, {where}",
                 id=conf.ID, status=plc.status.value, md5=plc.installation.md5() or "none",
                 workdir=os.path.abspath(args.workdir), where=where)
        health = RuntimeHealth(os.path.join(args.workdir, "health.json"), plc, conf.active)
        health.start()
        if args.metrics_port:
            metrics.install(plc)
            metrics_endpoint.serve(args)
        if conf.active:
            make_component(plc, conf, secret, publisher, args.ca_file, health).start(reactor)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger("before", "shutdown", plc.shutdown)
    reactor.run()
    log.info("runtime {id} stopped", id=conf.ID)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="plclink runtime", description=__doc__)
    options.add_arguments(parser)
    return run(parser.parse_args(argv))
