"""What a person does on the dashboard first (open it and log in), and what the same person
could do around it (call the router directly from the browser)."""
from browser.chromium import Chromium, Page


def log_in(browser: Chromium, web_url: str, user: str, secret: str, method: str = "ticket",
           width=1280, height=800, expect_fleet=True) -> Page:
    page = browser.new_page(width, height)
    page.goto(web_url)
    page.fill("#login-user", user)
    page.fill("#login-secret", secret)
    page.set_checked(f"input[name=method][value={method}]")
    page.click("#login-form button[type=submit]")
    if expect_fleet:
        page.wait_for("#fleet-view")
    return page


def direct_calls(page: Page, authid: str, ticket: str, calls) -> list:
    """What the router answers ``authid`` (ticket login) calling each (procedure, args) of
    ``calls`` straight from the page's browser, bypassing the page: the value, or
    {"error": URI} when refused."""
    return page.evaluate("""async ([authid, ticket, calls]) => {
        const connection = new autobahn.Connection({
            url: `ws://${location.host}/ws`, realm: 'Automation', authmethods: ['ticket'],
            authid, onchallenge: () => ticket,
            serializers: [new autobahn.serializer.MsgpackSerializer()]});
        const session = await new Promise((resolve) => {
            connection.onopen = resolve;
            connection.open();
        });
        const answers = [];
        for (const [procedure, args] of calls) {
            answers.push(await session.call(procedure, args).then(
                (value) => value ?? null, (error) => ({ error: error.error })));
        }
        connection.close();
        return answers;
    }""", [authid, ticket, [list(call) for call in calls]])
