"""The admin's front page opens with today's figures, each for the staff allowed to see it."""

import pytest
from django.urls import reverse

from tests.analytics.test_credits_flow import at
from tests.analytics.test_money import sales  # noqa: F401 (the fixture)
from tests.billing.conftest import (  # noqa: F401 (fixtures)
    endpoint,
    fake_stripe,
    stripe_keys,
    webhooks,
)
from tests.clients import sign_in_staff
from tests.factories import StaffFactory
from tests.pages import accessibility_problems, page

INDEX = reverse("admin:index")
ANALYST = ["analytics.view_analytics"]


def glance(response) -> dict[str, str]:
    rows = page(response).select(".front-overview tr")
    return {row.th.get_text(strip=True): row.td.get_text(strip=True) for row in rows}


def test_an_analyst_sees_todays_sales_and_the_liability_per_currency(client, sales):  # noqa: F811
    with at("2030-09-10T18:00"):
        sign_in_staff(client, StaffFactory(is_superuser=False, permissions=ANALYST))
        response = client.get(INDEX)
    assert response.status_code == 200
    assert accessibility_problems(response) == []
    # Paid today: two $10 packs and an $8 plan, and a €9 pack; nothing used or refunded yet.
    assert glance(response) == {
        "Sales today (USD)": "$28.00",
        "Deferred revenue now (USD)": "$28.00",
        "Sales today (EUR)": "€9.00",
        "Deferred revenue now (EUR)": "€9.00",
    }


def test_the_next_day_has_no_sales_and_a_refund_lowers_the_liability(client, sales):  # noqa: F811
    with at("2030-10-05T00:00"):
        sign_in_staff(client, StaffFactory(is_superuser=False, permissions=ANALYST))
        shown = glance(client.get(INDEX))
    # Taken back since: a quarter of the first pack ($2.50) and the charged-back pack ($10).
    assert (shown["Sales today (USD)"], shown["Deferred revenue now (USD)"]) == ("$0.00", "$15.50")


@pytest.mark.django_db
def test_staff_without_the_analytics_permission_see_only_the_counts_they_may(client):
    sign_in_staff(client, StaffFactory(is_superuser=False, permissions=["disputes.view_dispute"]))
    assert glance(client.get(INDEX)) == {"Open disputes": "0"}
    sign_in_staff(client, StaffFactory(is_superuser=False, permissions=["credits.view_wallet"]))
    assert glance(client.get(INDEX)) == {}
