"""The subscriptions page: six customers over October to December 2030, subscribed through the
shop's own doors (subscription checkouts, invoices, plan changes and cancellations as signed
Stripe webhooks), each figure checked against SQL written here and a count by hand."""

import csv
import io
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from django.db import connection
from django.urls import reverse

from analytics.periods import months
from analytics.subscriptions import subscriptions
from tests.analytics.test_credits_flow import at
from tests.billing.conftest import (  # noqa: F401 (fixtures)
    endpoint,
    fake_stripe,
    invoice_object,
    make_buyer,
    make_plan,
    pending_purchase,
    session_object,
    stripe_keys,
    subscription_object,
    webhooks,
)
from tests.clients import sign_in_staff
from tests.factories import StaffFactory, UserFactory
from tests.pages import accessibility_problems, page

pytestmark = pytest.mark.usefixtures("ledger_reconciles")

URL = reverse("admin:analytics_subscriptions_changelist")
QUARTER = ("2030-10", "2030-12")
AFTER = "2031-01-20T10:00"  # the quarter read once it is over (a month under way ends now)


def moment(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


def stamp(day: str) -> int:
    return int(moment(day).timestamp())


class Stripe:
    """What Stripe sends as customers subscribe, pay, change plan and cancel; each event sent
    on the day it happens."""

    def __init__(self, signed_webhooks):
        self.webhooks = signed_webhooks
        self.paid = 0

    def subscribe(self, user, plan, sub: str, day: str, until: str) -> None:
        """Stripe creates the subscription, its checkout completes and its first invoice is
        paid."""
        with at(day):
            purchase = pending_purchase(user, plan)
            self.webhooks.send(
                "customer.subscription.created",
                subscription_object(user, plan, subscription_id=sub),
            )
            session = session_object(
                purchase, mode="subscription", subscription=sub, payment_intent=None
            )
            self.webhooks.send("checkout.session.completed", session)
        self.pay(user, plan, sub, day, until)

    def pay(self, user, plan, sub: str, day: str, until: str) -> None:
        """The invoice of the period from `day` to `until`, paid on its first day."""
        self.paid += 1
        invoice = invoice_object(
            user,
            plan,
            invoice_id=f"in_{self.paid}",
            subscription_id=sub,
            start=stamp(day),
            end=stamp(until),
        )
        with at(day):
            self.webhooks.send("invoice.paid", invoice)

    def change(self, user, plan, sub: str, day: str) -> None:
        """The customer moves to another plan in the portal; the next invoice charges it."""
        with at(day):
            self.webhooks.send(
                "customer.subscription.updated",
                subscription_object(user, plan, subscription_id=sub),
            )

    def cancel(self, user, plan, sub: str, day: str) -> None:
        """The subscription ends on `day` (at its period's end, or at once)."""
        ended = stamp(day)
        with at(day):
            self.webhooks.send(
                "customer.subscription.deleted",
                subscription_object(
                    user, plan, subscription_id=sub, status="canceled",
                    canceled_at=ended, ended_at=ended,
                ),
            )  # fmt: skip


@pytest.fixture
def shop(webhooks, fake_stripe):  # noqa: F811
    """In USD: cat (Basic, 8.00) and bob (Pro, 20.00) subscribe in September; in October fay
    and ann take Basic and dan a yearly plan (102.30 a year: 8.525 a month, 8.52 half-even);
    bob moves down to Basic on 20 October (his 15 November invoice charges 8.00); cat's
    subscription ends with its period on 5 November; ann moves up to Pro on 20 November (her
    10 December invoice charges 20.00); cat subscribes again on 3 December; fay's subscription
    is ended at once on 20 December, in the middle of a period she paid for. In EUR: eve (Euro,
    9.00) from 1 October. Basic and Euro roll all unused credits over; Pro rolls 300 over."""
    with at("2030-09-01T09:00"):
        basic = make_plan(
            name="Basic", rollover="all", stripe_price_id="price_basic",
            stripe_product_id="prod_basic",
        )  # fmt: skip
        pro = make_plan(
            name="Pro", credits=2000, price=Decimal("20.00"), rollover="capped", rollover_cap=300,
            stripe_price_id="price_pro", stripe_product_id="prod_pro",
            stripe_price_amount=Decimal("20.00"),
        )  # fmt: skip
        yearly = make_plan(
            name="Yearly", interval="year", credits=6000, price=Decimal("102.30"),
            stripe_price_id="price_yearly", stripe_product_id="prod_yearly",
            stripe_price_amount=Decimal("102.30"), stripe_price_interval="year",
        )  # fmt: skip
        euro = make_plan(
            name="Euro", currency="eur", price=Decimal("9.00"), rollover="all",
            stripe_price_id="price_euro", stripe_product_id="prod_euro",
            stripe_price_amount=Decimal("9.00"), stripe_price_currency="eur",
        )  # fmt: skip
        ann, bob, cat, dan, eve, fay = (make_buyer(fake_stripe) for _ in range(6))
    stripe = Stripe(webhooks)
    stripe.subscribe(cat, basic, "sub_cat", "2030-09-05", "2030-10-05")
    stripe.subscribe(bob, pro, "sub_bob", "2030-09-15", "2030-10-15")
    stripe.subscribe(dan, yearly, "sub_dan", "2030-10-01T12:00", "2031-10-01T12:00")
    stripe.subscribe(eve, euro, "sub_eve", "2030-10-01T12:00", "2030-11-01T12:00")
    stripe.subscribe(fay, basic, "sub_fay", "2030-10-02", "2030-11-02")
    stripe.pay(cat, basic, "sub_cat", "2030-10-05", "2030-11-05")
    stripe.subscribe(ann, basic, "sub_ann", "2030-10-10", "2030-11-10")
    stripe.pay(bob, pro, "sub_bob", "2030-10-15", "2030-11-15")
    stripe.change(bob, basic, "sub_bob", "2030-10-20")
    stripe.pay(eve, euro, "sub_eve", "2030-11-01T12:00", "2030-12-01T12:00")
    stripe.pay(fay, basic, "sub_fay", "2030-11-02", "2030-12-02")
    stripe.cancel(cat, basic, "sub_cat", "2030-11-05")
    stripe.pay(ann, basic, "sub_ann", "2030-11-10", "2030-12-10")
    stripe.pay(bob, basic, "sub_bob", "2030-11-15", "2030-12-15")
    stripe.change(ann, pro, "sub_ann", "2030-11-20")
    stripe.pay(eve, euro, "sub_eve", "2030-12-01T12:00", "2031-01-01T12:00")
    stripe.pay(fay, basic, "sub_fay", "2030-12-02", "2031-01-02")
    stripe.subscribe(cat, basic, "sub_cat_again", "2030-12-03", "2031-01-03")
    stripe.pay(ann, pro, "sub_ann", "2030-12-10", "2031-01-10")
    stripe.pay(bob, basic, "sub_bob", "2030-12-15", "2031-01-15")
    stripe.cancel(fay, basic, "sub_fay", "2030-12-20")
    return {"ann": ann, "bob": bob, "cat": cat, "dan": dan, "eve": eve, "fay": fay}


def rows(query: str, *params) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def as_moment(value) -> datetime:
    """A timestamp as the backend returns it from raw SQL (SQLite: text, naive UTC)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def mrr_by_sql(month_end: datetime, currency: str) -> dict[int, Decimal]:
    """Each customer's MRR at `month_end`, written here: per subscription, its invoice in the
    currency whose period contains the month's last instant, if the subscription had not ended
    by then (the latest starting such invoice); a month's share of it (a period of about a
    year: a twelfth), half-even to the cent; summed per customer."""
    found = rows(
        "SELECT s.id, s.user_id, i.amount, i.period_start, i.period_end "
        "FROM billing_subscriptioninvoice i "
        "JOIN billing_subscription s ON s.id = i.subscription_id "
        "WHERE lower(i.currency) = %s AND i.period_start < %s AND i.period_end >= %s "
        "AND (s.ended_at IS NULL OR s.ended_at >= %s) "
        "ORDER BY s.id, i.period_start DESC, i.id DESC",
        currency,
        month_end,
        month_end,
        month_end,
    )
    mrr: dict[int, Decimal] = {}
    seen = set()
    for subscription, user, amount, start, end in found:
        if subscription in seen:
            continue  # an older invoice of the same subscription
        seen.add(subscription)
        days = (as_moment(end) - as_moment(start)).days
        share = Decimal(amount) / (12 if days > 360 else 1)
        cents = share.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)
        mrr[user] = mrr.get(user, Decimal(0)) + cents
    return {user: figure for user, figure in mrr.items() if figure}


def rollover_by_sql(currency: str) -> dict[str, int]:
    found = rows(
        "SELECT i.created_at, i.rollover_credits FROM billing_subscriptioninvoice i "
        "WHERE lower(i.currency) = %s",
        currency,
    )
    by_month: dict[str, int] = {}
    for created, credits in found:
        label = f"{as_moment(created):%Y-%m}"
        by_month[label] = by_month.get(label, 0) + credits
    return by_month


MONTH_ENDS = {"2030-10": "2030-11-01", "2030-11": "2030-12-01", "2030-12": "2031-01-01"}


def test_mrr_subscribers_and_rollover_equal_sql_written_here_and_counts_by_hand(shop):
    with at(AFTER):
        quarter = subscriptions(months(*QUARTER), "usd").figures()
    carried = rollover_by_sql("usd")
    for label, end in MONTH_ENDS.items():
        expected = mrr_by_sql(moment(end), "usd")
        assert quarter[label]["closing_mrr"] == sum(expected.values()), label
        assert quarter[label]["subscribers"] == len(expected), label
        assert quarter[label]["rollover_credits"] == carried.get(label, 0), label
    opening = mrr_by_sql(moment("2030-10-01"), "usd")
    assert quarter["2030-10"]["opening_mrr"] == sum(opening.values())

    # By hand. October: bob 20.00 and cat 8.00 at its start; ann, dan (8.52) and fay new.
    assert {name: quarter["2030-10"][name] for name in FIGURES} == {
        "opening_mrr": Decimal("28.00"),
        "new": Decimal("24.52"),
        "expansion": 0,
        "reactivation": 0,
        "contraction": 0,
        "churn": 0,
        "closing_mrr": Decimal("52.52"),
        "subscribers_opening": 2,
        "new_customers": 3,
        "subscribers": 5,
        # Rolled over in October: cat's 500 unused (Basic: all), bob's 2,000 capped at 300.
        "rollover_credits": 800,
    }
    # November: bob's downgrade contracts 12.00 (his 15 November invoice charges Basic), cat
    # churns (her subscription ended with its period on 5 November).
    assert {name: quarter["2030-11"][name] for name in FIGURES} == {
        "opening_mrr": Decimal("52.52"),
        "new": 0,
        "expansion": 0,
        "reactivation": 0,
        "contraction": Decimal("12.00"),
        "churn": Decimal("8.00"),
        "closing_mrr": Decimal("32.52"),
        "subscribers_opening": 5,
        "new_customers": 0,
        "subscribers": 4,
        # fay's 500, ann's 500, and bob's 2,000 + 300 carried all on (Basic now).
        "rollover_credits": 3300,
    }
    # December: ann's upgrade expands 12.00, cat comes back (a new Stripe subscription: the
    # same customer, so a reactivation), fay churns mid-period (ended at once).
    assert {name: quarter["2030-12"][name] for name in FIGURES} == {
        "opening_mrr": Decimal("32.52"),
        "new": 0,
        "expansion": Decimal("12.00"),
        "reactivation": Decimal("8.00"),
        "contraction": 0,
        "churn": Decimal("8.00"),
        "closing_mrr": Decimal("44.52"),
        "subscribers_opening": 4,
        "new_customers": 0,
        "subscribers": 4,
        # fay's 1,000, ann's 1,000 capped at 300 (Pro now), bob's 2,800; cat's new one: none.
        "rollover_credits": 4100,
    }
    assert [quarter[label][f"{name}_customers"] for label in MONTH_ENDS for name in COUNTED] == [
        # new, expansion, reactivation, contraction, churn
        3, 0, 0, 0, 0,
        0, 0, 0, 1, 1,
        0, 1, 1, 0, 1,
    ]  # fmt: skip


FIGURES = (
    "opening_mrr",
    "new",
    "expansion",
    "reactivation",
    "contraction",
    "churn",
    "closing_mrr",
    "subscribers_opening",
    "new_customers",
    "subscribers",
    "rollover_credits",
)
COUNTED = ("new", "expansion", "reactivation", "contraction", "churn")


def test_the_roll_forward_closes_every_month_and_each_month_is_the_same_alone(shop):
    with at(AFTER):
        quarter = subscriptions(months(*QUARTER), "usd")
    previous_closing = None
    for label, month in quarter.figures().items():
        assert (
            month["opening_mrr"]
            + month["new"]
            + month["expansion"]
            + month["reactivation"]
            - month["contraction"]
            - month["churn"]
        ) == month["closing_mrr"], label
        assert month["closes"] is True
        if previous_closing is not None:
            assert month["opening_mrr"] == previous_closing
        previous_closing = month["closing_mrr"]
        # A month alone (cat's December reactivation then rests on her MRR before the period).
        with at(AFTER):
            assert subscriptions(months(label), "usd").figures() == {label: month}
    assert quarter.report().problems == []


def test_a_second_currency_never_mixes_in(shop):
    with at(AFTER):
        euro = subscriptions(months(*QUARTER), "eur").figures()
        pounds = subscriptions(months(*QUARTER), "gbp").figures()
    assert [euro[label]["closing_mrr"] for label in MONTH_ENDS] == [Decimal("9.00")] * 3
    assert euro["2030-10"]["new"] == Decimal("9.00")
    assert euro["2030-10"]["opening_mrr"] == 0
    assert [euro[label]["subscribers"] for label in MONTH_ENDS] == [1, 1, 1]
    # eve's rollover: 500 unused carried into November's period, 1,000 into December's.
    assert [euro[label]["rollover_credits"] for label in MONTH_ENDS] == [0, 500, 1000]
    assert rollover_by_sql("eur") == {"2030-11": 500, "2030-12": 1000, "2030-10": 0}
    for label, end in MONTH_ENDS.items():
        assert euro[label]["closing_mrr"] == sum(mrr_by_sql(moment(end), "eur").values())
    assert pounds["2030-12"]["closing_mrr"] == 0


def test_the_page_shows_mrr_and_subscribers_charted_and_the_same_csv(
    client, shop, django_assert_max_num_queries
):
    with at("2031-01-20T10:00"):
        sign_in_staff(
            client, StaffFactory(is_superuser=False, permissions=["analytics.view_analytics"])
        )
        wanted = {"from": QUARTER[0], "to": QUARTER[1], "currency": "usd"}
        with django_assert_max_num_queries(19):
            response = client.get(URL, wanted)
        with django_assert_max_num_queries(19):
            two_years = client.get(URL, {"from": "2029-01", "to": "2030-12", "currency": "usd"})
        with django_assert_max_num_queries(19):
            one_month = client.get(URL, {"from": "2030-12", "currency": "usd"})
        download = client.get(URL, {**wanted, "format": "csv"})
        sign_in_staff(client, UserFactory(is_staff=True))
        refused = client.get(URL, wanted)
    assert (response.status_code, two_years.status_code, one_month.status_code) == (200, 200, 200)
    assert accessibility_problems(response) == []
    shown = page(response)
    charts = shown.select("figure.analytics-chart svg")
    assert [text.get_text() for text in charts[0].select("text")] == [
        "2030-10", "$52.52", "2030-11", "$32.52", "2030-12", "$44.52",
    ]  # fmt: skip
    assert [text.get_text() for text in charts[1].select("text")] == [
        "2030-10", "5", "2030-11", "4", "2030-12", "4",
    ]  # fmt: skip
    written = list(csv.reader(io.StringIO(download.content.decode())))
    assert written[0] == ["MRR in USD and its movements by month, October 2030 to December 2030"]
    assert written[2] == ["2030-10", "28.00", "24.52", "0.00", "0.00", "0.00", "0.00", "52.52"]
    assert written[4] == ["2030-12", "32.52", "0.00", "12.00", "8.00", "0.00", "8.00", "44.52"]
    assert written[8] == ["2030-10", "2", "3", "0", "0", "5", "0", "0", "800"]
    for number in (1, 2):
        table = [
            [plain(cell.get_text(strip=True)) for cell in row.select("th, td")]
            for row in shown.select(f"#table-{number} tbody tr")
        ]
        start = 2 if number == 1 else 8
        assert table == written[start : start + 3]
    assert "covers the month's last moment" in shown.select_one(".analytics-basis").get_text()
    assert not shown.select(".errornote")
    assert refused.status_code == 403


def plain(cell: str) -> str:
    """A page's figure as the CSV writes it: no symbol, no separators."""
    return cell.replace("$", "").replace(",", "")


def test_a_month_under_way_ends_now_so_a_renewal_to_come_is_not_churn(webhooks, fake_stripe):  # noqa: F811
    """February is under way on the 3rd: the invoice paid on 5 January covers now (it ends on
    5 February), so the subscriber is still one, and nobody churned; once February is over
    without a renewal, the same month shows the churn."""
    with at("2031-01-01T09:00"):
        plan = make_plan()  # 8.00 USD a month
        user = make_buyer(fake_stripe)
    Stripe(webhooks).subscribe(user, plan, "sub_later", "2031-01-05T09:00", "2031-02-05T09:00")
    with at("2031-02-03T12:00"):
        under_way = subscriptions(months("2031-02"), "usd").months[0]
    with at("2031-03-01T00:00"):
        over = subscriptions(months("2031-02"), "usd").months[0]
    invoices = rows("SELECT amount, period_start, period_end FROM billing_subscriptioninvoice")
    now = moment("2031-02-03T12:00")
    covering = [amount for amount, *period in invoices if as_moment(period[0]) < now]
    assert [as_moment(end) >= now for *_, end in invoices] == [True]
    assert [Decimal(str(amount)) for amount in covering] == [Decimal("8.00")]
    assert (under_way.opening, under_way.closing) == (Decimal("8.00"), Decimal("8.00"))
    assert (under_way.subscribers_opening, under_way.subscribers) == (1, 1)
    assert under_way.movements["churn"] == Decimal("0.00")
    assert (over.closing, over.movements["churn"], over.customers["churn"]) == (
        Decimal("0.00"),
        Decimal("8.00"),
        1,
    )
