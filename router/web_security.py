"""The dashboard's web root: crossbar's static file service, with the headers a page holding
Start/Stop/Force buttons needs, on every answer of the web transport.

Crossbar's static service has options for CORS (``allow_cross_origin``) and HSTS (the web
transport's ``hsts``) but none for a Content-Security-Policy, framing, sniffing or the
referrer, and its ``server`` header names crossbar's version. Crossbar's ``resource`` path
service loads this class instead; crossbar still attaches the WebSocket (``/ws``) as a child,
and every request passes through the root, where the headers are set.
"""
from twisted.web.pages import notFound
from twisted.web.static import File

# The page loads its own scripts and styles (no inline code: tests/test_web_security.py) and
# talks to its own WebSocket; nothing may frame it.
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
    return {"type": "resource", "classname": f"{__name__}.DashboardRoot",
            "extra": {"directory": directory}}


class _Files(File):
    """Static files; no directory listings."""

    def directoryListing(self):
        return notFound()


class DashboardRoot(_Files):
    """Built by crossbar with the path's ``extra``."""

    def __init__(self, extra):
        super().__init__(extra["directory"])
        self._headers = [(name.encode(), value.encode()) for name, value in HEADERS.items()]

    def createSimilarFile(self, path):
        similar = _Files(path, self.defaultType, self.ignoredExts, self.registry)
        similar.processors, similar.indexNames = self.processors, self.indexNames[:]
        similar.childNotFound = self.childNotFound
        return similar

    def getChildWithDefault(self, path, request):
        for name, value in self._headers:
            request.setHeader(name, value)
        return super().getChildWithDefault(path, request)
