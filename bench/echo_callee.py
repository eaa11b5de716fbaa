"""A bare echo procedure on the router, the baseline of the round-trip benchmark.

Joins as a runtime principal (runtimes may register under their own ID) and registers
``<ID>.Echo``, which returns its arguments: the router's and autobahn's cost with nothing of ours.
"""
import sys

import txaio

from plc_protocol import autobahn_compat
from autobahn.twisted.component import Component, run


def main(url, realm, authid, secret):
    component = Component(transports=[{"url": url, "serializers": ["msgpack"]}], realm=realm,
                          authentication={"wampcra": {"authid": authid, "secret": secret}})

    @component.on_join
    async def joined(session, details):
        await session.register(lambda *args: list(args), f"{authid}.Echo")
        sys.__stdout__.write("echo ready\n")  # twisted logging swallows print() below info
        sys.__stdout__.flush()

    txaio.use_twisted()
    autobahn_compat.apply()  # the same TCP_NODELAY fix as our components: a fair baseline
    run([component], log_level="warn")


if __name__ == "__main__":
    main(*sys.argv[1:5])
