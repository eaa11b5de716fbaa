"""The other side of the discovery tests, on the zeroconf package alone.

    python tests/zeroconf_peer.py browse SECONDS
        prints one JSON line per service found, read exactly as the Beremiz IDE's discovery
        dialog reads it (controls/DiscoveryPanel.py: add_service, _addService)
    python tests/zeroconf_peer.py announce NAME ADDRESS PORT PROTOCOL
        announces as Beremiz's runtime/ServicePublisher.py does (same type, name and TXT
        records; today's ServiceInfo keywords), prints "announced", until SIGTERM
"""
import json
import signal
import socket
import sys
import time

import zeroconf

SERVICE_TYPE = "_Beremiz._tcp.local."


class Listener:
    def __init__(self, zc):
        self.zc = zc

    def add_service(self, zc, type_, name):
        info = self.zc.get_service_info(type_, name)
        if info is None:
            return
        typename = info.properties.get(b"protocol", None).decode()
        ip = str(info.parsed_addresses()[0])
        print(json.dumps({"svcname": name.split(".")[0], "typename": typename, "ip": ip,
                          "port": info.port, "name": name}), flush=True)

    def update_service(self, zc, type_, name):
        self.add_service(zc, type_, name)

    def remove_service(self, zc, type_, name):
        print(json.dumps({"removed": name}), flush=True)


def main(argv):
    if argv[0] == "browse":
        zc = zeroconf.Zeroconf()
        zeroconf.ServiceBrowser(zc, SERVICE_TYPE, Listener(zc))
        time.sleep(float(argv[1]))
        zc.close()
        return 0
    name, address, port, protocol = argv[1:5]
    zc = zeroconf.Zeroconf(interfaces=[address])
    info = zeroconf.ServiceInfo(SERVICE_TYPE, f"{name}.{SERVICE_TYPE}",
                                addresses=[socket.inet_aton(address)], port=int(port),
                                properties={"description": "Beremiz remote PLC",
                                            "protocol": protocol})
    zc.register_service(info)
    print("announced", flush=True)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    zc.unregister_service(info)
    zc.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
