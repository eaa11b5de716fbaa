"""What a person does first on the dashboard: open it and log in."""
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
