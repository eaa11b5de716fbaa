"""The log of a long-running service: txaio's lines on stdout, without the libraries' chatter.

Operators read one line per event that matters. Twisted announces every listening port and
factory ("Site starting on 9300", "Starting factory <...>") and autobahn every connection
attempt and loss ("trying transport 0 ...", "session leaving ..."), the reactor its stop
("Received SIGTERM", "Main loop terminated"); each service says the same things itself in words
that matter ("metrics on http://...", "joined realm ...", "left the router ...; reconnecting",
"... stopped"), so those lines are dropped here, once for every service.
"""
import re
import sys

CHATTER = re.compile(
    r"^\S+ (\S+ starting on \d+|(Starting|Stopping) factory <|\(TCP Port \d+ Closed\)"
    r"|trying transport \d+ |connecting once using transport type |session leaving '"
    r"|wamp\.close\.transport_lost: WAMP transport was lost without closing"
    r"|Received SIG\w+, shutting down\.|Main loop terminated\.)")


class _WithoutChatter:
    """The file txaio writes formatted lines to; each write is one line."""

    mode = "w"   # text: txaio would otherwise write bytes to a file it cannot tell

    def __init__(self, out):
        self.out = out

    def write(self, text):
        if not CHATTER.match(text):
            self.out.write(text)

    def flush(self):
        self.out.flush()


def start_logging(level: str = "info") -> None:
    import txaio
    txaio.use_twisted()
    txaio.start_logging(out=_WithoutChatter(sys.stdout), level=level)
