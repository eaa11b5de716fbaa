"""Demo PLC program: level control of a water tank (what `plclink up` runs).

A tank drains continuously through an outlet; an inlet pump fills it. The controller keeps the
level between setpoint ± hysteresis, reading the setpoint and the alarm limit from the extra
file ``setpoint.csv`` (edit it on the runtime, or transfer a new one: the change is picked up
at the next read). Operators can force ``pump`` or ``manual`` to take over.

Logs: INFO when the pump switches, WARNING on high level, CRITICAL when the setpoint file is
unusable, DEBUG once per 1000 cycles with the current level.
"""

VARIABLES = [
    ("level", "REAL", 40.0),         # % of the tank height
    ("setpoint", "REAL", 60.0),      # % (from setpoint.csv)
    ("high_limit", "REAL", 90.0),    # % (from setpoint.csv)
    ("pump", "BOOL", False),         # inlet pump running
    ("high_alarm", "BOOL", False),
    ("manual", "BOOL", False),       # TRUE: the controller leaves the pump alone
    ("pump_starts", "DINT", 0),
    ("state", "STRING", "init"),
]

HYSTERESIS = 5.0
FILL_RATE = 0.05    # % per cycle while the pump runs
DRAIN_RATE = 0.02   # % per cycle, always
SETTINGS = "setpoint.csv"


def init(plc):
    plc.log_info("tank controller loaded")


def start(plc):
    plc.vars.state = "running"
    plc.log_info("tank controller started")


def read_settings(plc):
    v = plc.vars
    for name, row in (("setpoint", "setpoint"), ("high_limit", "high_limit")):
        text = plc.CSVRdStr(SETTINGS, row, "value")
        try:
            setattr(v, name, float(text))
        except ValueError:
            if v.state != "settings error":
                plc.log_critical(f"{SETTINGS}: {row}/value is {text!r}, keeping {getattr(v, name)}")
            v.state = "settings error"
            return
    if v.state == "settings error":
        plc.log_info(f"{SETTINGS} is usable again")
    v.state = "running"


def cycle(plc):
    v = plc.vars
    if plc.tick % 10 == 0:
        read_settings(plc)
    if not v.manual:
        if v.level < v.setpoint - HYSTERESIS and not v.pump:
            v.pump = True
            v.pump_starts += 1
            plc.log_info(f"pump on at level {v.level:.1f} % (setpoint {v.setpoint:.1f} %)")
        elif v.level > v.setpoint + HYSTERESIS and v.pump:
            v.pump = False
            plc.log_info(f"pump off at level {v.level:.1f} %")
    v.level = max(0.0, min(100.0, v.level + (FILL_RATE if v.pump else 0.0) - DRAIN_RATE))
    alarm = v.level > v.high_limit
    if alarm and not v.high_alarm:
        plc.log_warning(f"high level alarm: {v.level:.1f} % > {v.high_limit:.1f} %")
    v.high_alarm = alarm
    if plc.tick % 1000 == 0:
        plc.log_debug(f"level {v.level:.1f} %, pump {'on' if v.pump else 'off'}")


def stop(plc):
    plc.vars.pump = False
    plc.vars.state = "stopped"
    plc.log_info("tank controller stopped, pump off")
