"""``python3 -m plclink.tls_front``: stunnel as the TLS-PSK front (ERPCS://, protocol.md §5) of
an eRPC runtime that runs elsewhere, e.g. in another container (docker-compose.yml).

The configuration is the runtime's own (runtime_component/psk.py), written to a temporary
file; then stunnel replaces this process, so it gets the container's stop signal itself. The
runtime is looked up by name at every connection: a restarted or recreated runtime is found
again without restarting the front.
"""
import argparse
import os
import sys
import tempfile

from runtime_component import psk


def host_port(text: str) -> tuple[str, int]:
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT")
    return host, int(port)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m plclink.tls_front", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accept", type=host_port, required=True,
                        help="address and port of the ERPCS:// listener, e.g. 0.0.0.0:4000")
    parser.add_argument("--connect", type=host_port, required=True,
                        help="the runtime's plain eRPC address, e.g. erpc-07:3000")
    parser.add_argument("--psk-file", required=True, help="the runtime's 'ID:secret' PSK file")
    args = parser.parse_args(argv)
    try:
        psk.read_secret_file(args.psk_file)
        stunnel = psk.find_stunnel()
    except psk.PSKError as error:
        print(f"tls_front: {error}", file=sys.stderr)
        return 2
    (accept_host, accept_port), (connect_host, connect_port) = args.accept, args.connect
    fd, config = tempfile.mkstemp(prefix="plclink-stunnel-", suffix=".conf")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(psk.stunnel_config(accept_port, connect_port, os.path.abspath(args.psk_file),
                                        accept_host, connect_host, resolve_each_time=True))
    print(f"tls_front: ERPCS:// on {accept_host}:{accept_port} -> eRPC {connect_host}:"
          f"{connect_port} (stunnel, config {config})", flush=True)
    os.execv(stunnel, [stunnel, config])


if __name__ == "__main__":
    sys.exit(main())
