"""End to end, in headless Chromium: a user lets a partner app in with a lower spending cap than
it proposed, finds it on the Account page with that cap, and revokes it; no policy violation,
no console error, and axe-core finds no serious or critical accessibility problem on the way."""

import re
import shutil

import pytest
from django.db import connection
from django.test import Client

from integrations.models import Consent
from tests.e2e.conftest import accessibility_violations, session_context, watch
from tests.factories import UserFactory
from tests.integrations.oauth_helpers import authorize_query, partner_app, pkce_pair

pytestmark = [
    pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a live server needs transactional tests, whose SQLite flush the ledger's "
        "append-only triggers refuse; runs on PostgreSQL (DATABASE_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_a_user_consents_with_a_lower_cap_sees_it_on_the_account_page_and_revokes_it(
    live_server, browser, settings
):
    settings.SECURE_SSL_REDIRECT = False
    base = live_server.url
    settings.SITE_URL = base
    user = UserFactory(email="casey@example.com")
    app, _ = partner_app(
        allowed_scopes="openid email credits:read credits:spend", proposed_cap=1_000
    )
    _, challenge = pkce_pair()
    client = Client()
    client.force_login(user)
    context = session_context(browser, base, client)
    problems: list[str] = []
    watch(context, problems)
    # The partner's own site, where CreditDesk sends the user back with a code.
    arrived: list[str] = []

    def partner_site(route):
        arrived.append(route.request.url)
        route.fulfill(status=200, content_type="text/plain", body="Partner Shop: signed in")

    context.route(re.compile(r"^https://partner\.example\.com/"), partner_site)
    page = context.new_page()

    query = authorize_query(app, challenge, scope="openid email credits:read credits:spend")
    page.goto(f"{base}/o/authorize/?" + "&".join(f"{k}={v}" for k, v in query.items()))
    assert page.get_by_role("heading", level=1).inner_text() == (
        "Let Partner Shop use your CreditDesk account?"
    )
    problems += accessibility_violations(page)
    cap = page.get_by_label("Spending cap (credits per 30 days)")
    assert cap.input_value() == "1000"
    cap.fill("250")
    page.get_by_role("button", name="Allow").click()
    page.wait_for_url(re.compile(r"^https://partner\.example\.com/callback\?code="))
    assert "state=state-123" in arrived[0]

    page.goto(f"{base}/accounts/profile/")
    section = page.get_by_role("region", name="Connected apps")
    assert "Partner Shop" in section.inner_text()
    assert "250" in section.inner_text()
    assert "spend your credits" in section.inner_text()
    problems += accessibility_violations(page)

    section.get_by_role("button", name="Revoke Partner Shop").click()
    page.wait_for_url(re.compile(r"/accounts/apps/revoke/$"))
    problems += accessibility_violations(page)
    page.get_by_role("button", name="Revoke Partner Shop").click()
    page.wait_for_url(re.compile(r"/accounts/profile/$"))
    assert "Partner Shop can no longer act for you" in page.locator("main").inner_text()
    assert "You have not connected any app." in page.locator("main").inner_text()

    consent = Consent.objects.get(user=user)
    assert consent.cap == 250
    assert consent.revoked_at is not None
    assert problems == []
    context.close()
