"""A TCP relay of the test harness that makes a link look like a WAN: every chunk is delayed,
and a share of chunks as if TCP had to retransmit it. Also, with no delay, a door from the
test's network namespace into another one.

    python tests/wan_relay.py --listen 127.0.0.1:9000 --target 10.77.1.1:8888 \\
        [--delay 0.04] [--loss 0.01] [--retransmit 0.2] [--target-netns NAME]

Why a relay: this kernel has no sch_netem, so ``tc netem`` cannot add delay or loss. TCP never
loses bytes, so loss is emulated as what it costs a TCP stream: 1 % of chunks arrive late by a
retransmission timeout (``--retransmit``), holding up what follows them (each direction keeps
its order). The delay applies in each direction (40 ms: 80 ms round trip).

``--target-netns``: listen in the namespace the relay starts in, connect in NAME (the test,
in the root namespace, reaches routers in namespaces this way; the listening socket is made
before the relay enters NAME). Prints "relay ready" once listening; SIGTERM stops it.
"""
import argparse
import collections
import ctypes
import os
import random
import sys

from twisted.internet import protocol, reactor

CLONE_NEWNET = 0x40000000


def enter_netns(name: str) -> None:
    with open(os.path.join("/var/run/netns", name)) as handle:
        if ctypes.CDLL(None, use_errno=True).setns(handle.fileno(), CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns into {name} failed")


class Delayed:
    """One direction: chunks written to ``transport`` after their delay, in order (a chunk
    held back holds back those behind it, as in a TCP stream)."""

    def __init__(self, settings):
        self.settings = settings
        self.transport = None
        self.queue = collections.deque()   # (due, chunk)
        self.timer = None
        self.closing = False

    def send(self, data: bytes) -> None:
        delay = self.settings.delay
        if random.random() < self.settings.loss:
            delay += self.settings.retransmit
        due = reactor.seconds() + delay
        self.queue.append((max(due, self.queue[-1][0]) if self.queue else due, data))
        self._schedule()

    def _schedule(self):
        if self.timer is None and self.queue and self.transport is not None:
            self.timer = reactor.callLater(max(0.0, self.queue[0][0] - reactor.seconds()),
                                           self._deliver)

    def _deliver(self):
        self.timer = None
        now = reactor.seconds()
        while self.queue and self.queue[0][0] <= now:
            self.transport.write(self.queue.popleft()[1])
        if self.closing and not self.queue:
            self.transport.loseConnection()
        self._schedule()

    def attach(self, transport) -> None:
        self.transport = transport
        self._deliver()

    def close(self) -> None:
        """Close after what is still in flight."""
        self.closing = True
        if self.transport is not None and self.timer is None:
            self._deliver()


class Upstream(protocol.Protocol):
    def __init__(self, downstream):
        self.downstream = downstream

    def connectionMade(self):
        self.downstream.to_target.attach(self.transport)

    def dataReceived(self, data):
        self.downstream.to_client.send(data)

    def connectionLost(self, reason):
        self.downstream.to_client.close()


class Downstream(protocol.Protocol):
    def connectionMade(self):
        settings = self.factory.settings
        self.to_target = Delayed(settings)
        self.to_client = Delayed(settings)
        self.to_client.attach(self.transport)
        host, port = settings.target
        connector = protocol.ClientCreator(reactor, Upstream, self)
        connector.connectTCP(host, port, timeout=10).addErrback(
            lambda failure: self.transport.loseConnection())

    def dataReceived(self, data):
        self.to_target.send(data)

    def connectionLost(self, reason):
        self.to_target.close()


def address(text: str) -> tuple:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", type=address, required=True, help="HOST:PORT")
    parser.add_argument("--target", type=address, required=True, help="HOST:PORT")
    parser.add_argument("--target-netns", help="connect to the target in this namespace")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds, each direction")
    parser.add_argument("--loss", type=float, default=0.0, help="share of chunks retransmitted")
    parser.add_argument("--retransmit", type=float, default=0.2,
                        help="extra delay of a 'lost' chunk (default %(default)s s)")
    settings = parser.parse_args(argv)
    factory = protocol.Factory.forProtocol(Downstream)
    factory.settings = settings
    reactor.listenTCP(settings.listen[1], factory, interface=settings.listen[0])
    if settings.target_netns:
        enter_netns(settings.target_netns)
    print("relay ready", flush=True)
    reactor.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
