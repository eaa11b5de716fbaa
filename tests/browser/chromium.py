"""Debian's Chromium, headless, driven through playwright-core by driver.mjs.

Why this way: playwright-core comes from the npm registry with the dashboard's other front-end
packages (dashboard_frontend/package-lock.json, installed by scripts/setup-dashboard.sh), it
never downloads a browser of its own, and it waits for elements the way a person does; a small
JSON-lines bridge keeps the tests themselves in Python, next to the real router and runtimes
they start. Python's selenium would add packages to the virtualenv that crossbar's pins have to
agree with, for no gain.
"""
import json
import os
import queue
import shutil
import subprocess
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SETUP_HINT = "run scripts/setup-dashboard.sh (chromium, the front-end packages and vendor files)"


class BrowserError(AssertionError):
    pass


def check_installed() -> None:
    """Fail with the fix when the browser or the front-end packages are missing."""
    needed = (os.path.join(ROOT, "dashboard_frontend", "node_modules", "playwright-core"),
              os.path.join(ROOT, "router", "dashboard", "vendor", "autobahn.min.js"))
    missing = [path for path in needed if not os.path.exists(path)]
    chromium = os.environ.get("PLCLINK_CHROMIUM") or shutil.which("chromium")
    if not shutil.which("node") or not chromium:
        missing.append("node and chromium")
    if missing:
        raise BrowserError(f"missing {', '.join(missing)}: {SETUP_HINT}")


class Chromium:
    """One browser; pages share nothing but the browser process (each logs in on its own)."""

    def __init__(self):
        check_installed()
        self.process = subprocess.Popen(
            ["node", os.path.join(HERE, "driver.mjs")], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
        self.answers = queue.Queue()
        self.stderr = []
        for stream, sink in ((self.process.stdout, self.answers.put),
                             (self.process.stderr, self.stderr.append)):
            threading.Thread(target=self._read, args=(stream, sink), daemon=True).start()
        self.next_id = 0
        hello = self._answer(60)
        if not hello.get("ready"):
            raise BrowserError(f"the browser driver did not start: {hello}")

    @staticmethod
    def _read(stream, sink):
        for line in stream:
            sink(line)
        sink(None)

    def _answer(self, timeout):
        try:
            line = self.answers.get(timeout=timeout)
        except queue.Empty:
            raise BrowserError(f"the browser driver did not answer within {timeout} s") from None
        if line is None:
            said = "".join(filter(None, self.stderr[-30:]))
            raise BrowserError(f"the browser driver exited:\n{said}")
        return json.loads(line)

    def request(self, op, timeout=10.0, **params):
        """Run one driver operation; ``timeout`` (s) bounds the operation itself."""
        self.next_id += 1
        self.process.stdin.write(json.dumps({"id": self.next_id, "op": op,
                                             "timeout": timeout * 1000, **params}) + "\n")
        answer = self._answer(timeout + 30)
        if answer.get("id") != self.next_id:
            raise BrowserError(f"out-of-order answer from the browser driver: {answer}")
        if not answer["ok"]:
            raise BrowserError(f"{op} {params.get('selector', '')}: {answer['error']}")
        return answer["value"]

    def new_page(self, width=1280, height=800) -> "Page":
        return Page(self, self.request("open", width=width, height=height))

    def close(self):
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Page:
    def __init__(self, browser: Chromium, page_id: int):
        self.browser = browser
        self.page_id = page_id

    def _do(self, op, timeout=10.0, **params):
        return self.browser.request(op, timeout=timeout, page=self.page_id, **params)

    def goto(self, url):
        self._do("goto", url=url)

    def fill(self, selector, value):
        self._do("fill", selector=selector, value=value)

    def click(self, selector, text=None, timeout=10.0):
        self._do("click", selector=selector, text=text, timeout=timeout)

    def drag(self, selector, start, end):
        """Drag the mouse across an element, from and to fractions of its width."""
        self._do("drag", selector=selector, **{"from": start, "to": end})

    def set_checked(self, selector, checked=True):
        self._do("check", selector=selector, checked=checked)

    def text(self, selector, text=None, timeout=10.0) -> str:
        return self._do("text", selector=selector, text=text, timeout=timeout)

    def count(self, selector, text=None) -> int:
        return self._do("count", selector=selector, text=text)

    def wait_for(self, selector, text=None, state="visible", timeout=10.0):
        """Wait until an element matching selector (and containing text) reaches state."""
        self._do("wait", selector=selector, text=text, state=state, timeout=timeout)

    def evaluate(self, function, arg=None):
        """The (JSON) result of a JavaScript function's source, called with arg in the page."""
        return self._do("evaluate", source=function, arg=arg, timeout=30.0)

    def wait_until(self, function, arg=None, timeout=10.0):
        """Wait until a JavaScript function of arg returns a truthy value; that value."""
        return self._do("waitFunction", source=function, arg=arg, timeout=timeout)

    def resize(self, width, height):
        self._do("viewport", width=width, height=height)

    def screenshot(self, path, full_page=True, selector=None):
        """The page (all of it by default), or only the element matching selector."""
        self._do("screenshot", path=os.path.abspath(path), fullPage=full_page, selector=selector,
                 timeout=30.0)

    def problems(self) -> list:
        """Page errors and console errors seen so far."""
        return self._do("problems")

    def close(self):
        self._do("close")
