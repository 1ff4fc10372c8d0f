"""The overview: each headline figure equals the one its own page gives, for the period and
the one before it, and the page shows them in its table, chart and CSV."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from analytics import comparison, money
from analytics.flow import credits_flow
from analytics.periods import months
from credits import services
from disputes import services as disputes
from tests.analytics.test_credits_flow import at
from tests.analytics.test_money import sales  # noqa: F401 (the fixture)
from tests.analytics.test_pages import analyst
from tests.billing.conftest import (  # noqa: F401 (fixtures)
    endpoint,
    fake_stripe,
    stripe_keys,
    webhooks,
)
from tests.credits.conftest import ACTOR, key
from tests.pages import accessibility_problems, page

URL = reverse("admin:analytics_overview_changelist")


@pytest.fixture
def busy_october(sales):  # noqa: F811
    """On top of the sales: in October the first buyer spends 100 and disputes that spend."""
    ann = sales["first"].user
    with at("2030-10-05T12:00"):
        spent = services.spend(wallet=ann.wallet, amount=100, actor=ACTOR, idempotency_key=key())
        disputes.open_dispute(
            user=ann, txn=spent, reason="not_delivered", description="Nothing came.", amount=100
        )
    return sales


def test_each_figure_is_its_own_pages_for_the_period_and_the_one_before(busy_october):
    with at("2030-12-01T00:00"):
        found = comparison.overview(months("2030-10"), "usd")
        now = {label: this for label, this, _ in found.figures}
        before = {label: then for label, _, then in found.figures}
        for span, figures in ((months("2030-10"), now), (months("2030-09"), before)):
            revenue = money.revenue(span, "usd").total
            flow = credits_flow(since=span.since, until=span.until)
            deferred = money.deferred_revenue(span, "usd")
            assert figures["Gross revenue (USD)"] == revenue.gross
            assert figures["Net revenue (USD)"] == revenue.net
            issued = figures["Credits issued, paid"] + figures["Credits issued, promotional"]
            assert issued == flow.issued - flow.issued_by_source["refund"]
            assert figures["Credits consumed"] == flow.consumed
            assert figures["Credits expired"] == flow.expired
            assert figures["Deferred revenue at the end (USD)"] == deferred.closing.money
            assert figures["Credits held by open holds at the end"] == flow.held
    # By hand: September sold 2 USD packs and a plan (and a EUR pack, not in USD); October
    # refunded $2.50, lost a $10 chargeback, and saw one spend and one dispute.
    assert (before["Gross revenue (USD)"], now["Net revenue (USD)"]) == (
        Decimal("28.00"), Decimal("-12.50"),
    )  # fmt: skip
    assert (before["Credits issued, paid"], now["Credits issued, paid"]) == (3500, 0)
    assert (before["Active users"], now["Active users"]) == (0, 1)
    assert (before["Disputes open at the end"], now["Disputes open at the end"]) == (0, 1)
    assert now["Credits consumed"] == 100


def test_the_overview_page_shows_both_periods_and_the_same_csv(client, busy_october):
    with at("2030-12-01T00:00"):
        analyst(client)
        response = client.get(URL, {"from": "2030-10", "currency": "usd"})
        download = client.get(URL, {"from": "2030-10", "currency": "usd", "format": "csv"})
    assert response.status_code == 200
    assert accessibility_problems(response) == []
    shown = {
        row.th.get_text(strip=True): [td.get_text(strip=True) for td in row.select("td")]
        for row in page(response).select("#table-1 tbody tr")
    }
    assert shown["Net revenue (USD)"] == ["-$12.50", "$28.00", "-$40.50"]
    assert shown["Disputes open at the end"] == ["1", "0", "1"]
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0] == ["Overview, October 2030 against September 2030"]
    assert rows[1] == ["Figure", "This period", "Previous period", "Change"]
    csv_rows = {row[0]: row[1:] for row in rows[2:-1]}
    assert csv_rows["Net revenue (USD)"] == ["-12.50", "28.00", "-40.50"]
    assert len(csv_rows) == len(shown)
