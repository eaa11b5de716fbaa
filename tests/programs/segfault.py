"""Hostile test program: crashes its process with a signal (a NULL read in C)."""
import ctypes

VARIABLES = [("n", "INT", 0)]


def cycle(plc):
    plc.vars.n += 1
    if plc.vars.n == 5:
        ctypes.string_at(0)
