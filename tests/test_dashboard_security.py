"""The dashboard's headers as Chromium enforces them: no other site may frame it
(clickjacking), and script injected into it does not run (Content-Security-Policy)."""
import http.server
import threading

import pytest

from browser.fixtures import browser, web_url  # noqa: F401
from harness import free_port, wait_until
from router.web_security import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.slow


@pytest.fixture
def foreign_site(web_url):
    """Another origin (another port) whose page frames the dashboard, and, as the control, a
    page of its own that tells its parent when it loaded."""
    pages = {
        "/framing": f"""<!doctype html><title>elsewhere</title>
<script>addEventListener('message', (e) => {{ document.title = e.data; }});</script>
<iframe id=dashboard src="{web_url}"></iframe><iframe id=control src="/framed"></iframe>""",
        "/framed": "<!doctype html><script>parent.postMessage('control loaded', '*')</script>",
    }

    class Pages(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Pages)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_chromium_refuses_to_frame_the_dashboard(browser, foreign_site):
    page = browser.new_page()
    try:
        page.goto(foreign_site + "/framing")
        page.wait_until("() => document.title === 'control loaded'", timeout=30)
        # Chromium reports the refusal on the console; the framed page never runs
        wait_until(lambda: [text for text in page.problems() if "frame-ancestors 'none'" in text],
                   30, message=f"the frame refused (console: {page.problems()})")
    finally:
        page.close()


def test_chromium_blocks_script_injected_into_the_dashboard(browser, web_url):
    page = browser.new_page()
    try:
        page.goto(web_url)
        page.wait_for("#login-form")
        outcome = page.evaluate("""async () => {
            const violations = [];
            document.addEventListener('securitypolicyviolation',
                (event) => violations.push(event.originalPolicy));
            const script = document.createElement('script');
            script.textContent = 'window.injected = true';
            document.head.append(script);
            await new Promise((resolve) => setTimeout(resolve, 200));
            return { ran: window.injected === true, violations };
        }""")
        assert outcome["ran"] is False
        # the router's header (the page's own meta policy has no script-src of its own)
        assert CONTENT_SECURITY_POLICY in outcome["violations"], outcome
        # the page itself runs under the policy without a complaint
        assert not [text for text in page.problems() if "inline" not in text]
    finally:
        page.close()
