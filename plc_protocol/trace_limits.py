"""Limits and error codes of tracing and forcing (protocol.md §2 SetTraceVariablesList, §4).

The runtime enforces them; clients turn the codes into messages.
"""
MAX_TRACED = 1024        # traced variables
MAX_FORCED = 256         # forced variables
MAX_SAMPLE_BYTES = 4096  # trace data per cycle
POLL_TIMEOUT = 3.0       # a GetTraceVariables poller silent this long is gone

TRACE_LIST_OVERFLOW = -1
FORCE_LIST_OVERFLOW = -2
FORCE_BUFFER_OVERFLOW = -3
INVALID_FORCE = -4
DEBUG_SUSPENDED = -5
