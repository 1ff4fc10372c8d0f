"""Headless Chromium (Debian's package, driven by Playwright) and what it reports about a page:
Content-Security-Policy violations, console errors, uncaught errors, and axe-core's findings."""

import shutil

import pytest
from django.db import connection

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Installed before any script of the page runs: each violation of the policy (an inline script
# or style refused, a source not allowed) is reported to the test through a binding, which the
# policy cannot block (DevTools puts it there).
VIOLATION_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportViolation(
    `${location.pathname}${location.search}: ${event.effectiveDirective} refused `
    + `${event.blockedURI || "inline"} (${event.sourceFile || "page"}:${event.lineNumber})`
    + (event.sample ? ` "${event.sample}"` : "")
  );
});
"""


@pytest.fixture(scope="session")
def _live_server_connections_end(django_db_setup, django_db_blocker):
    """The live server's request threads can end without closing their database connection,
    which would keep the test database from being dropped at the end of the run: end them then.

    Not after each test: Playwright's sync API switches contexts, so a fixture's teardown may
    hold another connection than the test's own, and ending "all but mine" there would end the
    connection the next test goes on using.
    """
    yield
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def browser(monkeypatch, _live_server_connections_end):
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are
    # still synchronous (Django's documented setting for exactly this case).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        yield browser
        browser.close()


def watch(context, problems: list[str]) -> None:
    """Append to `problems` every policy violation, console error and uncaught error of every
    page opened in `context`."""
    context.expose_binding("reportViolation", lambda source, text: problems.append(text))
    context.add_init_script(VIOLATION_LISTENER)

    def console(message):
        # Chromium asks every site for /favicon.ico; the admin's pages name no icon.
        if message.location.get("url", "").endswith("/favicon.ico"):
            return
        if message.type == "error":
            where = message.page.url if message.page else "?"
            problems.append(f"{where}: console error: {message.text}")

    context.on("console", console)
    context.on("weberror", lambda error: problems.append(f"uncaught error: {error.error}"))


def accessibility_violations(page) -> list[str]:
    """axe-core's serious and critical findings on the page. Without axe's preload: it would
    copy the page's stylesheets into <style> elements, which the policy (rightly) refuses."""
    from axe_playwright_python.sync_playwright import Axe

    options = {"resultTypes": ["violations"], "preload": False}
    violations = Axe().run(page, options=options).response["violations"]
    return [
        f"{page.url} {v['id']} ({v['impact']})"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def session_context(browser, base_url: str, client):
    """A browser context signed in as the Django test `client` is: its session cookie copied
    (how the test signed in, password or two-factor, is the client's business)."""
    context = browser.new_context(base_url=base_url)
    context.add_cookies(
        [
            {"name": name, "value": morsel.value, "url": base_url}
            for name, morsel in client.cookies.items()
        ]
    )
    return context


def session_client(context):
    """A Django test client with the browser context's cookies: the same session."""
    from django.test import Client

    client = Client(raise_request_exception=False)
    for cookie in context.cookies():
        client.cookies[cookie["name"]] = cookie["value"]
    return client
