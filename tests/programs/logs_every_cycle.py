"""Logs its cycle number every cycle and counts, to show no message or sample is lost."""
VARIABLES = [("n", "UDINT", 0), ("held", "DINT", 0)]


def cycle(plc):
    plc.vars.n += 1
    plc.vars.held += 1
    if plc.vars.n <= 600:
        plc.log_debug(f"cycle {plc.vars.n}")
