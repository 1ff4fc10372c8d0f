"""The admin's index: CreditDesk's own sections first, dj-stripe's synced models one short
section after them."""

import pytest
from django.urls import reverse

from config.admin_index import STRIPE_ON_INDEX, STRIPE_SECTION
from tests.clients import sign_in_staff
from tests.factories import StaffFactory
from tests.pages import page

pytestmark = pytest.mark.django_db


def sections(response) -> dict[str, list[str]]:
    content = page(response).select_one("#content-main")
    return {
        module.caption.get_text(strip=True): [
            row.th.get_text(strip=True) for row in module.select("tr[class^=model-]")
        ]
        for module in content.select("div.module")
        if module.caption
    }


def test_stripe_models_are_one_short_section_after_creditdesks_own(client):
    sign_in_staff(client, StaffFactory())

    shown = sections(client.get(reverse("admin:index")))

    names = list(shown)
    assert names[:6] == ["Users", "Events", "Credits ledger", "Billing", "Disputes", "Jobs"]
    assert names[-1] == STRIPE_SECTION
    assert len(shown[STRIPE_SECTION]) == len(STRIPE_ON_INDEX)
    assert "Customers" in shown[STRIPE_SECTION]
    # CreditDesk's own pages (nine of them analytics) and the short Stripe section: dj-stripe's
    # forty-odd synced models would add as many again.
    assert sum(len(rows) for rows in shown.values()) < 60


def test_the_stripe_sections_page_still_lists_every_synced_model(client):
    sign_in_staff(client, StaffFactory())

    shown = sections(client.get(reverse("admin:app_list", args=["djstripe"])))

    assert list(shown) == [STRIPE_SECTION]
    assert len(shown[STRIPE_SECTION]) > 30
