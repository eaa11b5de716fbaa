"""What every part of the suite must agree on: status values, log levels, the method table,
IEC value encoding, connection URIs, router names and the eRPC service codec.

Each fact lives in exactly one module here; runtime, IDE, bridge and router import it.
"""
