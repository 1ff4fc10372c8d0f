"""The admin's wallet page holds its shape at 1280 px, even with long descriptions."""

import shutil

import pytest
from django.db import connection
from django.test import Client

from credits import services
from tests.clients import sign_in_staff
from tests.credits.conftest import ACTOR, fund, key
from tests.e2e.conftest import session_context
from tests.factories import StaffFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a live server needs transactional tests, whose SQLite flush the ledger's "
        "triggers refuse",
    ),
    pytest.mark.django_db(transaction=True),
]


def test_the_wallet_page_fits_1280_px_with_long_descriptions(live_server, browser):
    wallet = UserFactory().wallet
    fund(wallet, 1000)
    for _ in range(3):
        services.spend(
            wallet=wallet,
            amount=5,
            description="Logo and icons for the new site, " * 7,
            actor=ACTOR,
            idempotency_key=key(),
        )
    services.spend(
        wallet=wallet, amount=5, description="x" * 250, actor=ACTOR, idempotency_key=key()
    )
    staff = sign_in_staff(Client(), StaffFactory())
    context = session_context(browser, live_server.url, staff)
    page = context.new_page()
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{live_server.url}/admin/credits/wallet/{wallet.pk}/change/")

    width = page.evaluate("document.documentElement.scrollWidth")
    assert page.locator(".field-recent_transactions table").count() == 1
    assert width <= 1280, width
    context.close()
