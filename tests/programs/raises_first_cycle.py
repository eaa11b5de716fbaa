"""Test program whose very first cycle raises: the PLC must read Broken, never Started."""
VARIABLES = [("n", "INT", 0)]


def cycle(plc):
    raise ValueError("no sensor on the first cycle")
