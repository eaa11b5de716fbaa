"""What every part of the suite must agree on: status values, log levels, the method table,
IEC value encoding, connection URIs, router names, the eRPC service codec and a Beremiz
build's variable list (VARIABLES.csv).

Each fact lives in exactly one module here; runtime, IDE, bridge and router import it.
"""
