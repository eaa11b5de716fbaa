"""The headers every answer of the router's web transport carries: a page holding
Start/Stop/Force buttons must not be framed, run injected script, be sniffed into another
type, leak its address, or tell scanners which crossbar it runs.

Crossbar's static service has options for CORS (``allow_cross_origin``) and HSTS (the web
transport's ``hsts``) but none for these, and its ``server`` header names crossbar's version;
so the dashboard's root is our own resource (router/dashboard_root.py), which crossbar's
``resource`` path service loads. No CORS header is sent at all: the dashboard needs none.
"""

# The page loads its own scripts and styles (no inline code: tests/test_dashboard_security.py)
# and talks to its own WebSocket; nothing may frame it.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'")

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Server": "plclink",   # no version for whoever scans the plant network
}


def root_config(directory: str) -> dict:
    """The rendered ``/`` path of the web transport."""
    return {"type": "resource", "classname": "router.dashboard_root.DashboardRoot",
            "extra": {"directory": directory}}
