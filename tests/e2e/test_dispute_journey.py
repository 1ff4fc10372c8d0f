"""End to end, in headless Chromium: a user disputes a spend, staff refund it in the admin, the
user sees the refund; axe-core finds no serious or critical accessibility problem on the way."""

import re
import shutil

import pytest
import time_machine
from django.db import connection

from credits import services
from tests.clients import enrol_two_factor, this_totp_window, totp_code
from tests.credits.conftest import ACTOR, fund, key
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a live server needs transactional tests, whose SQLite flush the ledger's "
        "append-only triggers refuse; runs on PostgreSQL (DATABASE_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]


def accessibility_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    violations = Axe().run(page).response["violations"]
    return [
        f"{page.url} {v['id']} ({v['impact']})"
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]


def sign_in(page, base: str, email: str, totp_secret: str | None = None) -> None:
    """Through the real pages: e-mail and password, then (staff) a code from the authenticator
    app, computed from its secret as the app would."""
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    if totp_secret is not None:
        page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
        # The server's clock is held at the start of a 30-second window while the code is used.
        with time_machine.travel(this_totp_window(), tick=True):
            page.get_by_label("Code").fill(totp_code(totp_secret))
            page.get_by_role("button", name="Sign In").click()
            page.wait_for_url(re.compile(r"/(dashboard|admin)/"))
    page.wait_for_url(re.compile(r"/(dashboard|admin)/"))


def test_a_user_disputes_a_spend_and_sees_the_refund(live_server, browser, settings):
    settings.SECURE_SSL_REDIRECT = False
    alice = UserFactory(email="alice@example.com", name="Alice")
    staff_secret = enrol_two_factor(StaffFactory(email="staff@example.com"))
    fund(alice.wallet, 500)
    services.spend(
        wallet=alice.wallet, amount=80, description="Logo job", actor=ACTOR, idempotency_key=key()
    )
    base = live_server.url
    problems = []
    # Links that leave the site (Stripe's return pages, e-mails) come back to the live server.
    settings.SITE_URL = base

    user = browser.new_page()
    sign_in(user, base, "alice@example.com")
    problems += accessibility_violations(user)
    assert "420" in user.locator("main").inner_text()

    user.goto(f"{base}/dashboard/history/")
    problems += accessibility_violations(user)
    user.get_by_role("link", name="Logo job").click()
    user.wait_for_url(re.compile(r"/transactions/\d+/"))
    problems += accessibility_violations(user)

    user.get_by_role("link", name="Dispute this charge").click()
    user.get_by_label("Reason").select_option("not_delivered")
    user.get_by_label("What went wrong?").fill("The logo never arrived.")
    user.get_by_label("Credits you ask back").fill("80")
    user.get_by_role("button", name="Open the dispute").click()
    user.wait_for_url(re.compile(r"/disputes/\d+/$"))
    dispute_url = user.url

    user.get_by_label("Your message").fill("I checked my inbox twice.")
    user.get_by_role("button", name="Send").click()
    user.get_by_text("I checked my inbox twice.").wait_for()
    assert user.url == dispute_url  # htmx: the thread updated without a page load
    problems += accessibility_violations(user)

    staff = browser.new_page()
    sign_in(staff, base, "staff@example.com", totp_secret=staff_secret)
    dispute_id = re.search(r"/disputes/(\d+)/", dispute_url).group(1)
    staff.goto(f"{base}/admin/disputes/dispute/{dispute_id}/step/resolve/")
    staff.get_by_label("Credits to refund").fill("80")
    staff.get_by_role("button", name="Resolve with a refund").click()
    staff.wait_for_url(re.compile(rf"/admin/disputes/dispute/{dispute_id}/change/"))

    user.goto(f"{base}/dashboard/")
    dashboard = user.locator("main").inner_text()
    assert "Refund for dispute" in dashboard
    assert "500" in dashboard
    problems += accessibility_violations(user)

    assert problems == []
