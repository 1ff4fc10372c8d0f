"""The cohorts page: users grouped by their first paid purchase (packs paid and subscription
invoices paid through signed Stripe webhooks), followed month by month through their spends
and captures (credits.services) and their purchases again; each figure checked against rows
read with SQL written here and counted here, and by hand."""

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from analytics.cohorts import cohorts
from analytics.periods import months
from billing.models import Promotion
from billing.services.promotions import redeem_free_grant
from credits import services
from tests.analytics.test_credits_flow import at
from tests.analytics.test_subscriptions import Stripe
from tests.billing.conftest import (  # noqa: F401 (fixtures)
    endpoint,
    fake_stripe,
    invoice_object,
    make_buyer,
    make_pack,
    make_plan,
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

URL = reverse("admin:analytics_cohorts_changelist")


def spend(user, amount):
    return services.spend(wallet=user.wallet, amount=amount, actor=ACTOR, idempotency_key=key())


def buy(webhooks, user, pack):  # noqa: F811
    webhooks.send("checkout.session.completed", session_object(pending_purchase(user, pack)))


def pay_invoice(webhooks, user, plan, number: int, start: str, end: str):  # noqa: F811
    begins, ends = (
        int(datetime.fromisoformat(d).replace(tzinfo=UTC).timestamp()) for d in (start, end)
    )
    invoice = invoice_object(
        user,
        plan,
        invoice_id=f"in_{user.pk}_{number}",
        subscription_id=f"sub_{user.pk}",
        start=begins,
        end=ends,
    )
    webhooks.send("invoice.paid", invoice)


@pytest.fixture
def shop(webhooks, fake_stripe):  # noqa: F811
    """September: gus buys (his cohort is September's, before the period). October: ann buys
    a USD pack, spends 300 and buys another; bob buys a EUR pack and never spends; cat buys and
    spends 100 (refunded in November); eve, not yet a buyer, spends 20 free credits; gus buys
    again; fay's checkout is never paid. November: dan's subscription invoice is paid and he
    spends 120; eve buys her first pack and spends 500; ann spends 200; cat places a hold of 80.
    December: cat's hold is captured; ann buys a third pack; dan's next invoice is paid; eve
    spends 10."""
    with at("2030-09-01T09:00"):
        usd = make_pack()  # 1,000 credits for 10.00 USD
        eur = make_pack(name="Euro", currency="eur", price=Decimal("9.00"), stripe_price_id="p_e")
        plan = make_plan()  # 500 credits a month for 8.00 USD
        make_promotion(code="FREE50", kind=Promotion.Kind.FREE_GRANT, value=50)
        people = {
            n: make_buyer(fake_stripe) for n in ("ann", "bob", "cat", "dan", "eve", "fay", "gus")
        }
    ann, bob, cat, dan, eve, fay, gus = people.values()
    with at("2030-09-20T12:00"):
        buy(webhooks, gus, usd)
    with at("2030-10-05T12:00"):
        buy(webhooks, ann, usd)
        buy(webhooks, bob, eur)
        buy(webhooks, cat, usd)
        buy(webhooks, gus, usd)
        pending_purchase(fay, usd)  # never paid
        redeem_free_grant(code="FREE50", user=eve)
    with at("2030-10-20T12:00"):
        spend(ann, 300)
        refunded = spend(cat, 100)
        spend(eve, 20)
    with at("2030-10-25T12:00"):
        buy(webhooks, ann, usd)
    with at("2030-11-02T12:00"):
        services.refund(transaction=refunded, actor=ACTOR, idempotency_key=key())
        pay_invoice(webhooks, dan, plan, 1, "2030-11-02T00:00", "2030-12-02T00:00")
        held = services.hold(wallet=cat.wallet, amount=80, actor=ACTOR, idempotency_key=key())
    with at("2030-11-10T12:00"):
        buy(webhooks, eve, usd)
        spend(dan, 120)
        spend(eve, 500)
        spend(ann, 200)
    with at("2030-12-03T12:00"):
        services.capture(hold=held.hold, actor=ACTOR, idempotency_key=key())
        buy(webhooks, ann, usd)
        pay_invoice(webhooks, dan, plan, 2, "2030-12-02T00:00", "2031-01-02T00:00")
        spend(eve, 10)
    return people


def rows(query: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query)
        return cursor.fetchall()


def month_of(moment) -> str:
    """YYYY-MM of a moment as the database returns it: a datetime, or SQLite's text in UTC."""
    if isinstance(moment, str):
        return moment[:7]
    return f"{moment.astimezone(UTC):%Y-%m}"


def months_between(first: str, later: str) -> int:
    (y1, m1), (y2, m2) = (map(int, text.split("-")) for text in (first, later))
    return (y2 - y1) * 12 + m2 - m1


# A plan's checkout leaves a paid purchase too, but its payment is the first invoice's: only a
# pack's purchase is a payment of its own.
PAYMENTS = (
    "SELECT p.user_id, p.paid_at FROM billing_purchase p "
    "JOIN billing_creditpackage k ON k.id = p.package_id "
    "WHERE p.paid_at IS NOT NULL AND k.kind = 'pack' "
    "UNION ALL SELECT s.user_id, i.created_at FROM billing_subscriptioninvoice i "
    "JOIN billing_subscription s ON s.id = i.subscription_id"
)
USED = (
    "SELECT w.user_id, t.created_at, a.amount FROM credits_allocation a "
    "JOIN credits_credittransaction t ON t.id = a.transaction_id "
    "JOIN credits_creditgrant g ON g.id = a.grant_id "
    "JOIN credits_wallet w ON w.id = g.wallet_id "
    "WHERE t.kind IN ('spend', 'capture') AND w.kind = 'user'"
)


def independent(first: str, last: str) -> dict[str, dict]:
    """The cohorts of months first..last (YYYY-MM), followed to `last`, from rows read here."""
    payments = [(user, month_of(moment)) for user, moment in rows(PAYMENTS)]
    cohort_of = {}
    for user, month in sorted(payments, key=lambda payment: payment[1]):
        cohort_of.setdefault(user, month)
    found = {}
    for number in range(months_between(first, last) + 1):
        year, month = divmod(int(first[:4]) * 12 + int(first[5:]) - 1 + number, 12)
        label = f"{year}-{month + 1:02d}"
        width = months_between(label, last) + 1
        found[label] = {
            "users": sum(1 for c in cohort_of.values() if c == label),
            "spenders": [set() for _ in range(width)],
            "used": [0] * width,
            "repeaters": [set() for _ in range(width)],
        }
    for user, moment, amount in rows(USED):
        if cohort_of.get(user) not in found:
            continue
        cohort = found[cohort_of[user]]
        since = months_between(cohort_of[user], month_of(moment))
        if 0 <= since < len(cohort["used"]):
            cohort["spenders"][since].add(user)
            cohort["used"][since] += amount
    seen = defaultdict(int)
    for user, month in sorted(payments, key=lambda payment: payment[1]):
        seen[user] += 1
        cohort = found.get(cohort_of[user])
        since = months_between(cohort_of[user], month)
        if cohort is not None and seen[user] > 1 and since < len(cohort["used"]):
            cohort["repeaters"][since].add(user)
    for cohort in found.values():
        for name in ("spenders", "repeaters"):
            cohort[name] = [len(users) for users in cohort[name]]
    return found


def test_each_cohorts_counts_equal_rows_counted_here_and_by_hand(shop):
    with at("2031-01-15T00:00"):
        report = cohorts(months("2030-10", "2030-12")).figures()
    expected = independent("2030-10", "2030-12")
    for label, figures in expected.items():
        for name, value in figures.items():
            assert report[label][name] == value, (label, name)
    # By hand. October: ann, bob (EUR, never spends), cat; gus bought in September first.
    # Month 0: ann 300 and cat 100 (refunded in November: still used in October); ann's second
    # pack. Month 1: ann 200 (cat's hold is not use). Month 2: cat's capture of 80; ann's third.
    assert report["2030-10"] == {
        "users": 3,
        "spenders": [2, 1, 1],
        "used": [400, 200, 80],
        "repeaters": [1, 0, 1],
        "spent_share": ["66.7%", "33.3%", "33.3%"],
        "used_per_user": [133, 66, 26],
        "repeat_share": ["33.3%", "0.0%", "33.3%"],
    }
    # November: dan (a subscription invoice first) and eve (her October spend of free credits
    # came before her cohort's month). Month 1: dan's renewal is a repeat; eve spends 10.
    assert report["2030-11"] == {
        "users": 2,
        "spenders": [2, 1],
        "used": [620, 10],
        "repeaters": [0, 1],
        "spent_share": ["100.0%", "50.0%"],
        "used_per_user": [310, 5],
        "repeat_share": ["0.0%", "50.0%"],
    }
    # December: nobody bought for the first time.
    assert report["2030-12"] == {
        "users": 0,
        "spenders": [0],
        "used": [0],
        "repeaters": [0],
        "spent_share": [None],
        "used_per_user": [None],
        "repeat_share": [None],
    }


def test_the_period_chooses_the_cohorts_and_how_far_they_are_followed(shop):
    with at("2031-01-15T00:00"):
        november = cohorts(months("2030-11")).figures()
    assert november == {
        "2030-11": {
            "users": 2,
            "spenders": [2],
            "used": [620],
            "repeaters": [0],
            "spent_share": ["100.0%"],
            "used_per_user": [310],
            "repeat_share": ["0.0%"],
        }
    }
    assert {k: v for k, v in independent("2030-11", "2030-11")["2030-11"].items()} == {
        name: november["2030-11"][name] for name in ("users", "spenders", "used", "repeaters")
    }
    # A period reaching past today stops at this month: no columns for months to come.
    with at("2030-11-20T00:00"):
        ongoing = cohorts(months("2030-10", "2031-03")).figures()
    assert list(ongoing) == ["2030-10", "2030-11"]
    assert ongoing["2030-10"]["used"] == [400, 200]
    assert ongoing["2030-11"]["used"] == [620]


def test_a_later_first_purchase_in_the_period_does_not_make_an_earlier_buyer_new(shop):
    """gus bought in September: his October pack is a repeat of a cohort the period leaves out."""
    with at("2031-01-15T00:00"):
        september = cohorts(months("2030-09", "2030-10")).figures()
    assert september["2030-09"]["users"] == 1
    assert september["2030-09"]["repeaters"] == [0, 1]
    assert september["2030-10"]["users"] == 3


def test_a_plans_checkout_and_its_first_invoice_are_one_purchase(webhooks, fake_stripe):  # noqa: F811
    """A subscription starts the way Stripe starts it: its checkout completes (the purchase is
    marked paid) and its first invoice is paid, the same money. The subscriber bought once in
    their first month; their renewal is the repeat."""
    with at("2031-01-01T09:00"):
        plan = make_plan()
        subscriber = make_buyer(fake_stripe)
    stripe = Stripe(webhooks)
    stripe.subscribe(subscriber, plan, "sub_once", "2031-01-05T09:00", "2031-02-05T09:00")
    stripe.pay(subscriber, plan, "sub_once", "2031-02-05T09:00", "2031-03-05T09:00")
    assert subscriber.purchases.get().status == "paid"
    with at("2031-03-01T00:00"):
        found = cohorts(months("2031-01", "2031-02")).figures()
    assert found["2031-01"]["users"] == 1
    assert found["2031-01"]["repeaters"] == [0, 1]
    assert {name: found["2031-01"][name] for name in ("users", "repeaters")} == {
        name: independent("2031-01", "2031-02")["2031-01"][name] for name in ("users", "repeaters")
    }


def test_the_page_shows_three_triangles_a_chart_of_sizes_and_the_same_csv(
    client, shop, django_assert_max_num_queries
):
    with at("2031-01-15T00:00"):
        sign_in_staff(
            client, StaffFactory(is_superuser=False, permissions=["analytics.view_analytics"])
        )
        with django_assert_max_num_queries(19):
            response = client.get(URL, {"from": "2030-10", "to": "2030-12"})
        with django_assert_max_num_queries(19):
            assert client.get(URL, {"from": "2021-01", "to": "2030-12"}).status_code == 200
        download = client.get(URL, {"from": "2030-10", "to": "2030-12", "format": "csv"})
        sign_in_staff(client, UserFactory(is_staff=True))
        refused = client.get(URL, {"from": "2030-10"})
    assert response.status_code == 200
    assert accessibility_problems(response) == []
    shown = page(response)
    assert "currency" not in {field.get("name") for field in shown.select("form select")}
    charts = shown.select("figure.analytics-chart")
    assert len(charts) == 1
    bars = [text.get_text() for text in charts[0].select("svg text")]
    assert bars == ["2030-10", "3", "2030-11", "2", "2030-12", "0"]
    header = ["Cohort (first paid purchase)", "Users", "Month 0", "Month 1", "Month 2"]
    assert list(csv.reader(io.StringIO(download.content.decode()))) == [
        ["Share of each cohort who spent credits, October 2030 to December 2030"],
        header,
        ["2030-10", "3", "66.7%", "33.3%", "33.3%"],
        ["2030-11", "2", "100.0%", "50.0%", ""],
        ["2030-12", "0", "", "", ""],
        [],
        ["Credits used per user of each cohort, October 2030 to December 2030"],
        header,
        ["2030-10", "3", "133", "66", "26"],
        ["2030-11", "2", "310", "5", ""],
        ["2030-12", "0", "", "", ""],
        [],
        ["Share of each cohort who bought again (repeat purchases), October 2030 to December 2030"],
        header,
        ["2030-10", "3", "33.3%", "0.0%", "33.3%"],
        ["2030-11", "2", "0.0%", "50.0%", ""],
        ["2030-12", "0", "", "", ""],
        [],
    ]
    for number in (1, 2, 3):
        table = [
            [cell.get_text(strip=True) for cell in row.select("th, td")]
            for row in shown.select(f"#table-{number} tbody tr")
        ]
        assert table[1][-1] == table[2][-1] == "—"
        assert [row[:2] for row in table] == [["2030-10", "3"], ["2030-11", "2"], ["2030-12", "0"]]
    assert shown.select("#table-1 tbody tr")[0].get_text(" ", strip=True) == (
        "2030-10 3 66.7% 33.3% 33.3%"
    )
    assert "first paid purchase" in shown.select_one(".analytics-basis").get_text()
    assert refused.status_code == 403
