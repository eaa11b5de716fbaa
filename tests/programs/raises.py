VARIABLES = [("n", "INT", 0)]


def cycle(plc):
    plc.vars.n += 1
    if plc.vars.n == 20:
        raise RuntimeError("boom at cycle 20")
