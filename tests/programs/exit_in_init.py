"""Hostile test program: ends its process while being loaded (init hook)."""
import os

VARIABLES = [("n", "INT", 0)]


def init(plc):
    os._exit(3)


def cycle(plc):
    plc.vars.n += 1
