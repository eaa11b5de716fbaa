"""Browsing the LAN for eRPC runtimes (``_Beremiz._tcp.local.``): ``plclink discover`` and the
bridge's ``discover:`` (docs/discovery.md). Announcements are read as the Beremiz IDE's
discovery dialog reads them (plc_protocol/discovery.py), so ours and upstream's both show.

The zeroconf package runs its own thread; ``on_change`` is called from it.
"""
import time

from zeroconf import InterfaceChoice, ServiceBrowser, ServiceStateChange, Zeroconf

from plc_protocol.discovery import SERVICE_TYPE, announcement

INFO_TIMEOUT_MS = 3000


class Browser:
    """Announcements seen so far, by full service name; ``on_change(name, announcement or
    None)`` for each one that comes, changes or goes."""

    def __init__(self, on_change=None, interfaces=None):
        self.found = {}
        self.on_change = on_change
        self.zeroconf = Zeroconf(interfaces=interfaces or InterfaceChoice.All)
        self.browser = ServiceBrowser(self.zeroconf, SERVICE_TYPE,
                                      handlers=[self._state_change])

    def _state_change(self, zeroconf, service_type, name, state_change):
        if state_change is ServiceStateChange.Removed:
            found = None
        else:
            info = zeroconf.get_service_info(service_type, name, timeout=INFO_TIMEOUT_MS)
            found = info and announcement(name, info.properties, info.parsed_addresses(),
                                          info.port)
        if found is None and name not in self.found:
            return
        if found is None:
            del self.found[name]
        else:
            self.found[name] = found
        if self.on_change is not None:
            self.on_change(name, found)

    def close(self) -> None:
        self.browser.cancel()
        self.zeroconf.close()


def browse(seconds: float, interfaces=None) -> list:
    """Everything announced within ``seconds`` (mDNS answers come within a second or two)."""
    browser = Browser(interfaces=interfaces)
    try:
        time.sleep(seconds)
        return sorted(browser.found.values(), key=lambda found: (found.name, found.address))
    finally:
        browser.close()


def run_discover(args) -> int:
    """``plclink discover``: a table (or JSON) of what is announced on the LAN."""
    import ipaddress
    import json
    import sys
    try:
        interfaces = [str(ipaddress.ip_address(a)) for a in args.interface] or None
    except ValueError as error:
        print(f"plclink discover: --interface: {error}", file=sys.stderr)
        return 2
    if not 0 < args.seconds <= 600:
        print("plclink discover: --seconds must be between 0 and 600", file=sys.stderr)
        return 2
    found = browse(args.seconds, interfaces)
    if args.json:
        print(json.dumps([item.as_dict() for item in found], indent=2))
        return 0
    if not found:
        print(f"no runtime announced itself within {args.seconds:g} s", file=sys.stderr)
        return 0
    rows = [("NAME", "PROTOCOL", "ADDRESS", "PORT", "URI")] + [
        (f.name, f.protocol, f.address, str(f.port), f.uri) for f in found]
    widths = [max(len(row[n]) for row in rows) for n in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    return 0
