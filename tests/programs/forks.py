"""Hostile test program: forks 100 children that would outlive it."""
import os
import time

VARIABLES = [("n", "INT", 0)]


def cycle(plc):
    plc.vars.n += 1
    if plc.vars.n == 5:
        for _ in range(100):
            if os.fork() == 0:
                time.sleep(3600)
