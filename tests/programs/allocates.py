"""Hostile test program: allocates 2 GiB in one cycle."""
VARIABLES = [("n", "INT", 0)]
hoard = []


def cycle(plc):
    plc.vars.n += 1
    if plc.vars.n == 5:
        hoard.append(bytearray(2 * 1024 ** 3))
