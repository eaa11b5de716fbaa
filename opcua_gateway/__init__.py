"""``plclink opcua``: the runtimes on a router as an OPC UA server (docs/opcua.md).

A gateway beside the router (architecture.md, "Gateways"): it reads only what the router
carries (``<ID>.status``, ``<ID>.values``, ``<ID>.forces``, ExtendedCall GetVariables) and
writes only through ``<ID>.Write``; it never talks to a runtime by another path.
"""
