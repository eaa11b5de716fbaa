"""Reads data.csv every cycle; writes a burst of values when 'write' is set."""
VARIABLES = [("value", "STRING", ""), ("write", "BOOL", False), ("written", "DINT", 0)]


def cycle(plc):
    plc.vars.value = plc.CSVRdStr("data.csv", "speed", "value")
    if plc.vars.write:
        plc.vars.written += 1
        plc.CSVWrStr("data.csv", "out", "value", str(plc.vars.written))
