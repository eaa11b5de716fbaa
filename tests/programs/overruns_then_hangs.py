"""Test program: cycles longer than a 10 ms period (overruns), then one that never returns
(the watchdog kills the program process)."""
import time

VARIABLES = [("n", "INT", 0)]


def cycle(plc):
    plc.vars.n += 1
    if plc.vars.n < 30:
        time.sleep(0.03)
    elif plc.vars.n == 30:
        while True:
            pass
