"""The promotions page: two codes used over October and November 2030 through the shop's own
doors (checkouts paid by signed Stripe webhooks, a free-credits code redeemed, spends through
the ledger), each figure checked against SQL written here and a count by hand."""

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from analytics.periods import month, months
from analytics.promotions import promotions
from billing.models import Promotion
from billing.services.promotions import redeem_free_grant
from credits import services
from tests.analytics.test_credits_flow import at
from tests.billing.conftest import (  # noqa: F401 (fixtures)
    endpoint,
    fake_stripe,
    make_buyer,
    make_pack,
    make_promotion,
    pending_purchase,
    session_object,
    stripe_keys,
    webhooks,
)
from tests.clients import sign_in_staff
from tests.credits.conftest import ACTOR, key
from tests.factories import StaffFactory, UserFactory
from tests.pages import accessibility_problems, page

URL = reverse("admin:analytics_promotions_changelist")


def spend(user, amount):
    services.spend(wallet=user.wallet, amount=amount, actor=ACTOR, idempotency_key=key())


@pytest.fixture
def shop(webhooks, fake_stripe):  # noqa: F811
    """October: SPRING (+200 on a pack) used by ann and bob in USD and by eve in EUR; FREE50
    (50 free credits) redeemed by cat; ann spends 300 (her 200 bonus first), cat spends 30; a
    checkout with SPRING is left unpaid. November: bob spends 150 (his bonus), dan redeems
    FREE50. The cheapest active USD pack is 10.00 for 1,000 credits (a cheaper one is
    retired)."""
    with at("2030-10-01T09:00"):
        standard = make_pack()  # 1,000 credits for 10.00 USD
        make_pack(name="Old", price=Decimal("5.00"), is_active=False, stripe_price_id="p_old")
        euro = make_pack(name="Euro", currency="eur", price=Decimal("9.00"), stripe_price_id="p_e")
        spring = make_promotion()  # SPRING, +200 credits
        make_promotion(code="FREE50", kind=Promotion.Kind.FREE_GRANT, value=50)
        ann, bob, eve, cat, dan, idle = (make_buyer(fake_stripe) for _ in range(6))
    with at("2030-10-05T12:00"):
        for buyer, pack in ((ann, standard), (bob, standard), (eve, euro)):
            purchase = pending_purchase(buyer, pack, bonus=200, promotion=spring)
            webhooks.send("checkout.session.completed", session_object(purchase))
        pending_purchase(idle, standard, bonus=200, promotion=spring)  # never paid
        redeem_free_grant(code="free50", user=cat)
    with at("2030-10-20T12:00"):
        spend(ann, 300)
        spend(cat, 30)
    with at("2030-11-03T12:00"):
        spend(bob, 150)
        redeem_free_grant(code="FREE50", user=dan)


def sql(query: str, *params) -> dict[str, object]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return dict(cursor.fetchall())


# A promotional grant's code, by its transaction's reference: the redemption or the purchase.
GRANT_CODE = (
    "FROM credits_creditgrant g "
    "JOIN credits_credittransaction t ON t.id = g.transaction_id "
    "JOIN django_content_type ct ON ct.id = t.reference_type_id "
    "LEFT JOIN billing_redemption r ON ct.model = 'redemption' "
    "AND CAST(r.id AS TEXT) = t.reference_id "
    "LEFT JOIN billing_purchase pu ON ct.model = 'purchase' "
    "AND CAST(pu.id AS TEXT) = t.reference_id "
    "JOIN billing_promotion p ON p.id = COALESCE(r.promotion_id, pu.promotion_id) "
    "WHERE g.source = 'promotion' AND ct.app_label = 'billing' "
)


def independent(name: str, currency: str) -> dict[str, dict[str, object]]:
    since, until = month(name)
    found = {
        "redemptions": sql(
            "SELECT p.code, COUNT(*) FROM billing_redemption r JOIN billing_promotion p "
            "ON p.id = r.promotion_id WHERE r.status = 'used' AND r.created_at >= %s "
            "AND r.created_at < %s GROUP BY p.code",
            since,
            until,
        ),
        "granted": sql(
            f"SELECT p.code, SUM(g.amount) {GRANT_CODE} AND g.created_at >= %s "
            "AND g.created_at < %s GROUP BY p.code",
            since,
            until,
        ),
        "used": sql(
            "SELECT p.code, SUM(a.amount) FROM credits_allocation a "
            "JOIN credits_credittransaction s ON s.id = a.transaction_id "
            f"JOIN ({'SELECT g.id, p.code ' + GRANT_CODE}) gc ON gc.id = a.grant_id "
            "JOIN billing_promotion p ON p.code = gc.code "
            "WHERE s.kind IN ('spend', 'capture') AND s.created_at >= %s AND s.created_at < %s "
            "GROUP BY p.code",
            since,
            until,
        ),
        "purchases": sql(
            "SELECT p.code, COUNT(*) FROM billing_purchase pu JOIN billing_promotion p "
            "ON p.id = pu.promotion_id WHERE pu.paid_at >= %s AND pu.paid_at < %s "
            "AND lower(pu.currency) = %s GROUP BY p.code",
            since,
            until,
            currency,
        ),
        "purchase_money": sql(
            "SELECT p.code, SUM(pu.amount) FROM billing_purchase pu JOIN billing_promotion p "
            "ON p.id = pu.promotion_id WHERE pu.paid_at >= %s AND pu.paid_at < %s "
            "AND lower(pu.currency) = %s GROUP BY p.code",
            since,
            until,
            currency,
        ),
    }
    codes = set().union(*found.values())
    return {
        code: {figure: values.get(code, 0) for figure, values in found.items()} for code in codes
    }


def test_each_codes_figures_equal_sums_written_here_and_counts_by_hand(shop):
    october = promotions(months("2030-10"), "usd").figures()
    expected = independent("2030-10", "usd")
    for code, figures in expected.items():
        for name, value in figures.items():
            assert october[code][name] == value, (code, name)
    # By hand: SPRING 3 uses (ann, bob, eve; the unpaid checkout's is only reserved), 600
    # bonus credits, 200 used (ann's), 2 USD purchases of 10.00 (eve's is in EUR).
    # FREE50: cat's use, 50 credits, 30 used. Cost: credits used x 10.00 / 1,000.
    assert october["SPRING"] == {
        "redemptions": 3,
        "granted": 600,
        "used": 200,
        "cost": Decimal("2.00"),
        "purchases": 2,
        "purchase_money": Decimal("20.00"),
    }
    assert october["FREE50"] == {
        "redemptions": 1,
        "granted": 50,
        "used": 30,
        "cost": Decimal("0.30"),
        "purchases": 0,
        "purchase_money": Decimal("0"),
    }
    assert october["Total"]["cost"] == Decimal("2.30")
    assert october["Total"]["granted"] == 650

    november = promotions(months("2030-11"), "usd").figures()
    assert {code: f for code, f in november.items() if code != "Total"} == {
        code: {**f, "cost": Decimal(f["used"]) / 100}
        for code, f in independent("2030-11", "usd").items()
    }
    assert (november["SPRING"]["used"], november["FREE50"]["granted"]) == (150, 50)


def test_a_second_currency_keeps_its_own_money_and_list_price(shop):
    euro = promotions(months("2030-10"), "eur").figures()
    # Eve's pack: 9.00 EUR; ann's 200 used are costed at the EUR pack's 9.00 / 1,000.
    assert (euro["SPRING"]["purchases"], euro["SPRING"]["purchase_money"]) == (1, Decimal("9.00"))
    assert euro["SPRING"]["cost"] == Decimal("1.80")
    assert euro["Total"]["purchase_money"] == Decimal("9.00")


def test_the_page_shows_the_table_a_chart_of_credits_granted_and_the_same_csv(
    client, shop, django_assert_max_num_queries
):
    with at("2030-12-01T10:00"):
        sign_in_staff(
            client, StaffFactory(is_superuser=False, permissions=["analytics.view_analytics"])
        )
        with django_assert_max_num_queries(19):
            response = client.get(URL, {"from": "2030-10", "currency": "usd"})
        download = client.get(URL, {"from": "2030-10", "currency": "usd", "format": "csv"})
        stranger = UserFactory(is_staff=True)
        sign_in_staff(client, stranger)
        refused = client.get(URL, {"from": "2030-10"})
    assert response.status_code == 200
    assert accessibility_problems(response) == []
    shown = page(response)
    bars = [text.get_text() for text in shown.select("figure.analytics-chart svg text")]
    assert bars == ["FREE50", "50", "SPRING", "600"]
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0] == ["Promotions, October 2030 (money in USD)"]
    assert rows[2] == ["FREE50", "Free credits, no purchase", "1", "50", "30", "0.30", "0", "0"]
    assert rows[3][0] == "SPRING"
    assert rows[3][2:] == ["3", "600", "200", "2.00", "2", "20.00"]
    assert rows[4] == ["Total", "", "4", "650", "230", "2.30", "2", "20.00"]
    table = [
        [cell.get_text(strip=True) for cell in row.select("th, td")]
        for row in shown.select("#table-1 tbody tr")
    ]
    assert [row[0] for row in table] == [row[0] for row in rows[2:-1]]
    assert table[-1][5] == "$2.30"
    assert "10.00 for 1,000 credits" in shown.select_one(".analytics-basis").get_text()
    assert refused.status_code == 403
