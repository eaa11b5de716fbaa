"""Test program holding 200 MiB (touched) from init: memory that must leave with it."""
VARIABLES = [("n", "INT", 0)]
hoard = None


def init(plc):
    global hoard
    hoard = bytearray(b"\x01" * (200 * 1024 * 1024))


def cycle(plc):
    plc.vars.n += 1
