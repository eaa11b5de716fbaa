"""``plclink runtime --announce``: the eRPC runtime announces itself on the LAN as Beremiz's does
(plc_protocol/discovery.py), so that the Beremiz IDE's discovery dialog, ``plclink discover``
and a bridge with ``discover:`` find it.

As upstream, nothing is announced for a loopback address: a runtime listening on 127.0.0.1 is
not reachable from the LAN. The zeroconf package runs its own thread; registering (which
probes the name for a few hundred ms) and the goodbye at shutdown run in the reactor's thread
pool so the reactor never waits.
"""
import ipaddress
import socket

import ifaddr
from twisted.internet.threads import deferToThread
from twisted.logger import Logger
from zeroconf import InterfaceChoice, NonUniqueNameException, ServiceInfo, Zeroconf

from plc_protocol.discovery import SERVICE_TYPE, properties, service_name

ALL = ("0.0.0.0", "")
log = Logger()


def lan_addresses(host: str) -> list:
    """The IPv4 addresses an eRPC server bound to ``host`` is reachable at from the LAN."""
    if host not in ALL:
        candidates = [host]
    else:
        candidates = [str(ip.ip) for adapter in ifaddr.get_adapters() for ip in adapter.ips
                      if isinstance(ip.ip, str)]
    return [address for address in candidates
            if not ipaddress.ip_address(address).is_loopback]


class Announcer:
    def __init__(self, plc_id: str, host: str, port: int, protocol: str = "ERPC"):
        self.plc_id, self.host, self.port, self.protocol = plc_id, host, port, protocol
        self.zeroconf = self.info = None

    def start(self):
        return deferToThread(self._register).addErrback(
            lambda failure: log.error("zeroconf announcement failed: {error}",
                                      error=failure.getErrorMessage()))

    def _register(self) -> None:
        addresses = lan_addresses(self.host)
        if not addresses:
            log.warn("not announced on the LAN: the eRPC server listens on {host} only (give "
                     "--erpc-host with a LAN address, or 0.0.0.0)", host=self.host)
            return
        self.info = ServiceInfo(SERVICE_TYPE, service_name(self.plc_id), port=self.port,
                                properties=properties(self.protocol),
                                addresses=[socket.inet_aton(a) for a in addresses],
                                server=f"{self.plc_id}.local.")
        interfaces = InterfaceChoice.All if self.host in ALL else addresses
        self.zeroconf = Zeroconf(interfaces=interfaces)
        try:
            self.zeroconf.register_service(self.info)
        except NonUniqueNameException:
            self.zeroconf.close()
            self.zeroconf = None
            log.error("not announced: another runtime announces {name} on this network; give "
                      "each runtime its own --id", name=self.plc_id)
            return
        log.info("announced {name} ({protocol}) at {addresses} port {port} (zeroconf "
                 "{type})", name=self.plc_id, protocol=self.protocol,
                 addresses=", ".join(addresses), port=self.port, type=SERVICE_TYPE)

    def stop(self):
        """The goodbye packet, so browsers drop the runtime at once."""
        zeroconf, self.zeroconf = self.zeroconf, None
        if zeroconf is None:
            return None

        def goodbye():
            zeroconf.unregister_service(self.info)
            zeroconf.close()
        return deferToThread(goodbye)
