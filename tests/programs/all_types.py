"""Test program: one variable of every IEC type, counting so traces change every cycle."""
VARIABLES = [
    ("b", "BOOL", False), ("si", "SINT", -5), ("usi", "USINT", 5), ("by", "BYTE", 7),
    ("i", "INT", -300), ("ui", "UINT", 300), ("w", "WORD", 0xBEEF),
    ("di", "DINT", -70000), ("udi", "UDINT", 70000), ("dw", "DWORD", 0xDEADBEEF),
    ("li", "LINT", -(2**40)), ("uli", "ULINT", 2**40), ("lw", "LWORD", 2**63),
    ("r", "REAL", 1.5), ("lr", "LREAL", 2.25), ("s", "STRING", "hello"),
    ("t", "TIME", 1.5), ("tod", "TOD", 3600.0), ("d", "DATE", 86400.0), ("dt", "DT", 1e9),
    ("counter", "DINT", 0),
]


def cycle(plc):
    plc.vars.counter += 1
