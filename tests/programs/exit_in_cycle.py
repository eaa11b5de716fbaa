"""Hostile test program: ends its process from the cycle (as a careless os._exit would)."""
import os

VARIABLES = [("n", "INT", 0)]


def cycle(plc):
    plc.vars.n += 1
    if plc.vars.n == 5:
        os._exit(1)
