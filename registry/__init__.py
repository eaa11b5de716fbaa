"""The fleet's memory: a WAMP component (role ``registry``) that records every runtime, status
change, log message, value, install and control call in a database (SQLite by default,
PostgreSQL by URL), keeps every installed program set by its md5, raises alarms, and answers
the dashboard and the IDE under ``plclink.registry.*``.

Its WAMP API is documented in registry/API.md; the names live in plc_protocol/registry_names.py.
"""
