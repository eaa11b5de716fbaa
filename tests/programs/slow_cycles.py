"""Test program: every cycle takes 25 ms, longer than the default 10 ms period, so the runtime
counts overruns all the time (scan health shows its warning)."""
import time

VARIABLES = [("n", "INT", 0)]


def cycle(plc):
    plc.vars.n = (plc.vars.n + 1) % 30000
    time.sleep(0.025)
