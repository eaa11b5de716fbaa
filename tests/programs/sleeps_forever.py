"""Hostile test program: a cycle that blocks in a call that never returns."""
import time

VARIABLES = [("n", "INT", 0)]


def cycle(plc):
    plc.vars.n += 1
    if plc.vars.n == 5:
        time.sleep(10**6)
