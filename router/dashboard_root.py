"""The web transport's root inside crossbar: the dashboard's static files, and the security
headers (router/web_security.py) set on every request as it passes the root, so that they
are on every answer, including crossbar's ``/ws`` child and the 404s."""
from twisted.web.pages import notFound
from twisted.web.static import File

from router.web_security import HEADERS


class _Files(File):
    """Static files; no directory listings."""

    def directoryListing(self):
        return notFound()


class DashboardRoot(_Files):
    """Built by crossbar's ``resource`` path service with the path's ``extra``."""

    def __init__(self, extra):
        super().__init__(extra["directory"])
        self.childNotFound = notFound()
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
