"""Attacks on the money figures: ledger histories at the edges of the deferred revenue
roll-forward (a hold spanning grants partly captured after one expired, a refund into an expired
grant, a grant made and used at 00:00:00 of a month, a zero-decimal currency, a subscription's
rollover), revenue through Stripe's webhooks (a refund of a subscription invoice, a lost
chargeback after a partial refund with no amount), and the pages' query strings."""

import importlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.urls import reverse

from analytics import money
from analytics.periods import months
from billing.models import Purchase
from credits import services
from credits.models import CreditGrant
from tests.analytics.test_credits_flow import at, stored
from tests.analytics.test_pages import analyst
from tests.billing.conftest import (  # noqa: F401 (fixtures)
    buyer,
    charge_object,
    dispute_object,
    endpoint,
    fake_stripe,
    invoice_charge_object,
    invoice_object,
    invoice_payment_object,
    make_buyer,
    make_pack,
    make_plan,
    pending_purchase,
    session_object,
    stripe_keys,
    webhooks,
)
from tests.clients import sign_in_staff
from tests.credits.conftest import ACTOR, key
from tests.factories import StaffFactory, UserFactory

Source = CreditGrant.Source
LEDGER_MONTHS = ["2031-01", "2031-02", "2031-03", "2031-04", "2031-05"]


def ledger_owed(moment: datetime, currency: str) -> tuple[int, Decimal]:
    """The liability from the grants' own columns, as of now (`moment` = now): per paid grant
    on a user's wallet, its remaining credits plus those its open holds still reserve, rounded
    half-even once per grant."""
    query = (
        "SELECT g.remaining + COALESCE(SUM(CASE WHEN t.kind = 'hold' THEN a.amount "
        "WHEN t.kind IN ('release', 'capture') THEN -a.amount ELSE 0 END), 0), g.cost_basis "
        "FROM credits_creditgrant g "
        "JOIN credits_wallet w ON w.id = g.wallet_id AND w.kind = 'user' "
        "LEFT JOIN credits_allocation a ON a.grant_id = g.id "
        "LEFT JOIN credits_credittransaction t ON t.id = a.transaction_id "
        "WHERE g.cost_basis IS NOT NULL AND g.currency = %s AND g.created_at < %s "
        "GROUP BY g.id, g.remaining, g.cost_basis"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, stored([currency, moment]))
        rows = cursor.fetchall()
    unit = money.minor_unit(currency)
    return (
        sum(owed for owed, _ in rows),
        sum(
            (Decimal(owed) * Decimal(str(basis))).quantize(unit, "ROUND_HALF_EVEN")
            for owed, basis in rows
        ),
    )


def paid_grant(wallet, amount, basis, *, expires_at=None, currency="usd"):
    txn = services.grant(
        wallet=wallet,
        amount=amount,
        source=Source.PURCHASE,
        cost_basis=Decimal(basis),
        currency=currency,
        expires_at=expires_at,
        actor=ACTOR,
        idempotency_key=key(),
    )
    return txn.created_grants.get()


def closes_and_matches_the_ledger(name: str, currency: str = "usd"):
    """The month's roll-forward; asserts it closes and, at its end, equals the grants' columns
    (call it at the month's end: the columns are as of now)."""
    deferred = money.deferred_revenue(months(name), currency)
    assert deferred.closes, deferred.report().problems
    closing = (deferred.closing.credits, deferred.closing.money)
    assert closing == ledger_owed(months(name).until, currency)
    return deferred


# --- The roll-forward at the ledger's edges -----------------------------------------------------


@pytest.mark.django_db
def test_a_hold_across_two_grants_partly_captured_after_one_expired_rolls_forward():
    """January: a hold of 15 takes all of A (10 at $0.005, due 20 January) and 5 of B (at
    $0.0125). February: 3 captured, final: the rest goes back, A's 7 into an expired grant,
    which expire at once. Held credits stay owed in January; February recognises 3 x $0.005
    and breaks 7 of A."""
    wallet = UserFactory().wallet
    with at("2031-01-05T10:00"):
        paid_grant(wallet, 10, "0.005", expires_at=datetime(2031, 1, 20, tzinfo=UTC))
        paid_grant(wallet, 10, "0.0125", expires_at=datetime(2031, 6, 1, tzinfo=UTC))
        held = services.hold(
            wallet=wallet,
            amount=15,
            expires_at=datetime(2031, 3, 1, tzinfo=UTC),
            actor=ACTOR,
            idempotency_key=key(),
        ).hold
    with at("2031-01-21T00:00"):
        services.expire_due_grants()
    with at("2031-02-01T00:00"):
        january = closes_and_matches_the_ledger("2031-01")
    assert (january.closing.credits, january.closing.money) == (
        20,
        Decimal("0.17"),
    )  # $0.05 + $0.125 half-even
    assert january.lines["breakage"].credits == 0  # held credits do not expire
    with at("2031-02-02T09:00"):
        services.capture(hold=held, amount=3, actor=ACTOR, idempotency_key=key())
    with at("2031-03-01T00:00"):
        february = closes_and_matches_the_ledger("2031-02")
    assert february.lines["recognised"].credits == -3
    assert february.lines["breakage"].credits == -7
    assert (february.closing.credits, february.closing.money) == (10, Decimal("0.12"))


@pytest.mark.django_db
def test_a_refund_into_an_expired_grant_gives_back_a_new_paid_grant_in_its_own_month():
    """A spend of 6 from a grant at $0.00833333 that then expires (4 broken); in March 5 of the
    spend are refunded: a refund grant carries the basis on and its 5 are given back, then
    expire after the grace days."""
    wallet = UserFactory().wallet
    with at("2031-02-01T08:00"):
        paid_grant(wallet, 10, "0.00833333", expires_at=datetime(2031, 2, 10, tzinfo=UTC))
        spent = services.spend(wallet=wallet, amount=6, actor=ACTOR, idempotency_key=key())
    with at("2031-02-11T00:00"):
        services.expire_due_grants()
    with at("2031-03-02T12:00"):
        services.refund(transaction=spent, amount=5, actor=ACTOR, idempotency_key=key())
    refunded = CreditGrant.objects.get(source=Source.REFUND)
    assert refunded.cost_basis == Decimal("0.00833333")
    with at("2031-03-01T00:00"):
        february = closes_and_matches_the_ledger("2031-02")
    assert february.lines["breakage"].credits == -4
    with at("2031-04-01T00:00"):
        march = closes_and_matches_the_ledger("2031-03")
    assert (march.lines["given_back"].credits, march.lines["given_back"].money) == (
        5,
        Decimal("0.04"),
    )
    with at(f"{refunded.expires_at + timedelta(minutes=1):%Y-%m-%dT%H:%M}"):
        services.expire_due_grants()
    with at("2031-05-01T00:00"):
        april = closes_and_matches_the_ledger("2031-04")
    assert april.lines["breakage"].credits == -5
    assert (april.closing.credits, april.closing.money) == (0, Decimal("0.00"))


@pytest.mark.django_db
def test_a_grant_made_and_used_at_midnight_belongs_to_the_month_it_starts():
    wallet = UserFactory().wallet
    with at("2031-05-01T00:00"):
        paid_grant(wallet, 7, "0.07")
        services.spend(wallet=wallet, amount=3, actor=ACTOR, idempotency_key=key())
    with at("2031-06-01T00:00"):
        april = money.deferred_revenue(months("2031-04"), "usd")
        may = closes_and_matches_the_ledger("2031-05")
    assert (april.closing.credits, april.closing.money) == (0, Decimal("0.00"))
    assert (may.lines["issued"].credits, may.lines["issued"].money) == (7, Decimal("0.49"))
    assert (may.lines["recognised"].credits, may.lines["recognised"].money) == (
        -3,
        Decimal("-0.21"),
    )


@pytest.mark.django_db
def test_a_zero_decimal_currency_rounds_to_whole_yen_and_closes(client):
    """3 credits at ¥0.5 carry ¥2 (1.5, half-even); after a spend of 1, 2 carry ¥1."""
    wallet = UserFactory().wallet
    with at("2031-01-03T00:00"):
        paid_grant(wallet, 3, "0.5", currency="jpy")
        services.spend(wallet=wallet, amount=1, actor=ACTOR, idempotency_key=key())
    with at("2031-02-01T00:00"):
        january = closes_and_matches_the_ledger("2031-01", "jpy")
        analyst(client)
        response = client.get(
            reverse("admin:analytics_deferredrevenue_changelist"),
            {"from": "2031-01", "currency": "jpy"},
        )
    assert (january.lines["issued"].money, january.lines["recognised"].money) == (
        Decimal("2"),
        Decimal("-1"),
    )
    assert january.figures()["liability_closing"] == Decimal("1")
    assert response.status_code == 200
    assert "¥1" in response.content.decode()


def test_credits_rolled_over_by_a_subscription_stay_in_the_liability(webhooks, buyer):  # noqa: F811
    """A plan that rolls all unused credits over: January's 500 at $0.016, 200 used; February's
    invoice expires January's 300 and grants them again. They are still the buyer's to use, paid
    for in January: they are owed, not broken."""
    plan = make_plan(rollover="all")
    january = int(datetime(2031, 1, 1, tzinfo=UTC).timestamp())
    february = int(datetime(2031, 2, 1, tzinfo=UTC).timestamp())
    march = int(datetime(2031, 3, 1, tzinfo=UTC).timestamp())
    with at("2031-01-01T00:10"):
        webhooks.send(
            "invoice.paid",
            invoice_object(
                buyer, plan, invoice_id="in_1", subscription_id="sub_1", start=january, end=february
            ),
        )
    with at("2031-01-10T00:00"):
        services.spend(wallet=buyer.wallet, amount=200, actor=ACTOR, idempotency_key=key())
    with at("2031-02-01T00:10"):
        webhooks.send(
            "invoice.paid",
            invoice_object(
                buyer, plan, invoice_id="in_2", subscription_id="sub_1", start=february, end=march
            ),
        )
    buyer.wallet.refresh_from_db()
    paid_in_wallet = sum(
        g.remaining for g in buyer.wallet.grants.filter(is_promotional=False, remaining__gt=0)
    )
    assert paid_in_wallet == 800
    with at("2031-02-15T00:00"):
        deferred = money.deferred_revenue(months("2031-02"), "usd")
    assert deferred.closes
    # The 300 rolled over are owed: the liability holds them, and nothing was broken.
    shown = (deferred.closing.credits, deferred.lines["breakage"].credits)
    assert shown == (paid_in_wallet, 0), deferred.lines["breakage"]


def test_credits_rolled_over_twice_across_a_price_change_keep_what_they_were_paid(
    webhooks,  # noqa: F811
    buyer,  # noqa: F811
):
    """January's 500 at $0.016, 200 used: 300 roll into February beside February's 500, paid
    $10.00 ($0.02 each). Nothing is used in February, so March carries on 800 credits worth
    500 x 0.02 + 300 x 0.016 = $14.80: carrying them creates no liability (at February's price
    alone they would be $16.00, $1.20 from nothing)."""
    plan = make_plan(rollover="all")
    days = [int(datetime(2031, m, 1, tzinfo=UTC).timestamp()) for m in (1, 2, 3, 4)]
    for number, (start, end) in enumerate(pairwise(days), start=1):
        invoice = invoice_object(
            buyer, plan, invoice_id=f"in_{number}", subscription_id="sub_1", start=start, end=end
        )
        if number == 2:
            invoice.update(amount_paid=1000, amount_due=1000)
        with at(f"2031-{number:02d}-01T00:10"):
            webhooks.send("invoice.paid", invoice)
        if number == 1:
            with at("2031-01-10T00:00"):
                services.spend(wallet=buyer.wallet, amount=200, actor=ACTOR, idempotency_key=key())
    with at("2031-03-15T00:00"):
        march = money.deferred_revenue(months("2031-03"), "usd")
    assert march.closes
    assert (march.lines["breakage"].credits, march.lines["breakage"].money) == (0, Decimal("0"))
    assert march.opening.money == Decimal("14.80")
    assert march.closing.money == Decimal("14.80") + Decimal("8.00")
    rolled = CreditGrant.objects.get(transaction__idempotency_record__key__endswith="in_3:rollover")
    assert (rolled.amount, rolled.cost_basis) == (800, Decimal("0.0185"))


@pytest.mark.django_db
def test_an_expiry_refunded_is_not_breakage_of_its_cohort():
    """January's 10 credits at $0.01 expire in January; in February staff refund the expiry:
    they are owed again (given back, in a refund grant). The roll-forward shows it; the
    January cohort's breakage, as of February's end, should not still count them."""
    wallet = UserFactory().wallet
    with at("2031-01-03T00:00"):
        paid_grant(wallet, 10, "0.01", expires_at=datetime(2031, 1, 20, tzinfo=UTC))
    with at("2031-01-21T00:00"):
        expiry = services.expire_due_grants()
    expired = wallet.transactions.get(kind="expiry")
    assert expiry.credits == 10
    with at("2031-02-02T00:00"):
        services.refund(transaction=expired, actor=ACTOR, idempotency_key=key())
    with at("2031-03-01T00:00"):
        deferred = money.deferred_revenue(months("2031-01", "2031-02"), "usd")
    assert deferred.closes
    assert (deferred.closing.credits, deferred.closing.money) == (10, Decimal("0.10"))
    assert deferred.lines["given_back"].credits == 10
    (january,) = deferred.cohorts
    assert (january.expired, january.breakage) == (0, Decimal("0.00"))


# --- Revenue through Stripe's webhooks ----------------------------------------------------------


def test_a_lost_chargeback_with_no_amount_after_a_partial_refund_takes_back_only_the_rest(
    webhooks,  # noqa: F811
    fake_stripe,  # noqa: F811
):
    pack = make_pack()
    user = make_buyer(fake_stripe)
    with at("2031-01-10T12:00"):
        purchase = pending_purchase(user, pack)
        webhooks.send("checkout.session.completed", session_object(purchase))
    purchase.refresh_from_db()
    with at("2031-02-03T12:00"):
        webhooks.send("charge.refunded", charge_object(purchase, refunded=300))
    with at("2031-03-04T12:00"):
        webhooks.send("charge.dispute.created", dispute_object(purchase))
        lost = dispute_object(purchase, status="lost")
        del lost["amount"]
        webhooks.send("charge.dispute.closed", lost)
    with at("2031-04-01T00:00"):
        found = money.revenue(months("2031-01", "2031-03"), "usd").months
    assert [(m.packs, m.refunds, m.chargebacks) for m in found] == [
        (Decimal("10.00"), 0, 0),
        (0, Decimal("3.00"), 0),
        (0, 0, Decimal("7.00")),
    ]
    with at("2031-04-01T00:00"):
        assert money.revenue(months("2031-01", "2031-03"), "usd").total.net == 0


def test_a_refunded_subscription_invoice_counts_as_money_back(webhooks, buyer):  # noqa: F811
    """Stripe refunds an invoice's charge: the money went back, so net revenue should not keep
    it. As the pinned API version sends it, the charge names no invoice, only a payment intent
    no purchase has; the invoice's payment (invoice_payment.paid, here after the refund) names
    the same intent."""
    plan = make_plan()
    start = int(datetime(2031, 1, 1, tzinfo=UTC).timestamp())
    with at("2031-01-01T00:10"):
        webhooks.send(
            "invoice.paid",
            invoice_object(
                buyer,
                plan,
                invoice_id="in_1",
                subscription_id="sub_1",
                start=start,
                end=start + 86400 * 31,
            ),
        )
    with at("2031-02-05T00:00"):
        webhooks.send(
            "charge.refunded",
            {
                "id": "ch_invoice_1",
                "object": "charge",
                "amount": 800,
                "amount_refunded": 800,
                "refunded": True,
                "currency": "usd",
                "customer": f"cus_{buyer.pk}",
                "payment_intent": "pi_invoice_1",
                "status": "succeeded",
                "paid": True,
                "captured": True,
                "livemode": False,
                "created": start,
                "metadata": {},
            },
        )
    with at("2031-02-05T00:01"):
        payment = invoice_payment_object("in_1", payment_intent="pi_invoice_1")
        webhooks.send("invoice_payment.paid", payment)
    with at("2031-03-01T00:00"):
        february = money.revenue(months("2031-02"), "usd").months[0]
    assert february.refunds == Decimal("8.00")


def test_the_roll_forward_closes_around_a_subscription_invoices_refund(webhooks, buyer):  # noqa: F811
    """January's invoice grants 500 credits for 8.00; 100 are spent; on 20 January a quarter is
    refunded (125 credits taken back) and in February the rest (what is left was expired at the
    period's end, so nothing more can be taken). Every month around it closes and ends where the
    grants' columns do; revenue counts each refund in its own month."""
    plan = make_plan()
    start = int(datetime(2031, 1, 1, tzinfo=UTC).timestamp())
    invoice = invoice_object(
        buyer, plan, invoice_id="in_1", subscription_id="sub_1", start=start, end=start + 86400 * 31
    )
    with at("2031-01-01T00:10"):
        webhooks.send("invoice.paid", invoice)
        webhooks.send("invoice_payment.paid", invoice_payment_object("in_1"))
        services.spend(wallet=buyer.wallet, amount=100, actor=ACTOR, idempotency_key=key())
    with at("2031-01-20T00:00"):
        webhooks.send("charge.refunded", invoice_charge_object(buyer, "in_1", refunded=200))
    with at("2031-01-31T23:59"):
        january = closes_and_matches_the_ledger("2031-01")
    with at("2031-02-10T00:00"):
        webhooks.send("charge.refunded", invoice_charge_object(buyer, "in_1", refunded=800))
    with at("2031-02-28T23:59"):
        february = closes_and_matches_the_ledger("2031-02")
    with at("2031-03-31T23:59"):
        closes_and_matches_the_ledger("2031-03")
        revenue = money.revenue(months("2031-01", "2031-02"), "usd").months
    assert january.lines["taken_back"].credits == -125
    assert (january.closing.credits, january.closing.money) == (275, Decimal("4.40"))
    assert (february.closing.credits, february.closing.money) == (0, Decimal("0.00"))
    assert [(m.subscriptions, m.refunds) for m in revenue] == [
        (Decimal("8.00"), Decimal("2.00")),
        (0, Decimal("6.00")),
    ]


def test_a_discounted_invoice_puts_what_was_paid_in_the_liability(webhooks, buyer):  # noqa: F811
    """A first invoice at half price (a coupon, or proration): $4 paid for 500 credits. The
    liability for them is the $4 received, as a discounted pack's is (its basis is the checkout's
    amount_total / credits)."""
    plan = make_plan()
    start = int(datetime(2031, 1, 1, tzinfo=UTC).timestamp())
    invoice = invoice_object(
        buyer, plan, invoice_id="in_1", subscription_id="sub_1", start=start, end=start + 86400 * 31
    )
    invoice["amount_paid"] = 400
    with at("2031-01-01T00:10"):
        webhooks.send("invoice.paid", invoice)
    with at("2031-02-01T00:00"):
        paid = money.revenue(months("2031-01"), "usd").months[0].subscriptions
        issued = money.deferred_revenue(months("2031-01"), "usd").lines["issued"]
    assert paid == Decimal("4.00")
    assert (issued.credits, issued.money) == (500, paid)


# --- The pages' query strings -------------------------------------------------------------------

PAGES = ["overview", "creditsflow", "revenue", "deferredrevenue"]


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_every_page_and_its_csv_refuse_staff_without_the_permission_and_strangers(client, name):
    url = reverse(f"admin:analytics_{name}_changelist")
    assert client.get(url, {"format": "csv"}).status_code == 302  # to sign in
    sign_in_staff(client, StaffFactory(is_superuser=False, permissions=["credits.view_wallet"]))
    assert client.get(url).status_code == 403
    assert client.get(url, {"format": "csv", "currency": "usd"}).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("name", PAGES)
def test_a_csv_asked_with_a_newline_after_the_month_is_not_a_server_error(client, name):
    """`months` strips the month it parses, but the download's file name used what was asked."""
    analyst(client)
    url = reverse(f"admin:analytics_{name}_changelist")
    response = client.get(url, {"from": "2031-01\n", "format": "csv"})
    assert response.status_code == 200
    assert "\n" not in response.get("Content-Disposition", "")


@pytest.mark.django_db
def test_the_credits_flow_csv_names_its_file_without_the_currency_asked(client):
    """The credits flow takes no currency, so nothing checks the one asked: it must not reach
    the Content-Disposition header (a newline there is a 500, a quote ends the file name)."""
    analyst(client)
    url = reverse("admin:analytics_creditsflow_changelist")
    for asked in ('x";filename=evil.exe', "a\r\nb"):
        response = client.get(url, {"from": "2031-01", "currency": asked, "format": "csv"})
        assert response.status_code == 200
        assert asked not in response["Content-Disposition"]


@pytest.mark.django_db
def test_a_currency_asked_in_capitals_is_the_same_currency(client):
    """credits_report --currency USD is usd; the page should agree, not refuse 'USD'."""
    wallet = UserFactory().wallet
    with at("2031-01-03T00:00"):
        paid_grant(wallet, 10, "0.01")
    with at("2031-02-01T00:00"):
        analyst(client)
        response = client.get(
            reverse("admin:analytics_revenue_changelist"), {"from": "2031-01", "currency": "USD"}
        )
    assert "No figures are kept in" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    [
        {"from": "0001-01"},
        {"from": "9998-12"},
        {"from": "9989-01", "to": "9998-12"},
        {"from": "2031-05", "to": "2031-01"},
        {"from": "2021-01", "to": "2031-01"},
        {"from": "2031-01", "currency": "us'd<script>"},
        {"from": "2031-13", "format": "csv"},
    ],
)
def test_odd_periods_and_currencies_are_refused_or_shown_never_a_500(client, query):
    analyst(client)
    for name in PAGES:
        response = client.get(reverse(f"admin:analytics_{name}_changelist"), query)
        assert response.status_code == 200, (name, query)
        assert "<script>" not in response.content.decode()


def test_the_backfill_keeps_a_refund_that_arrived_before_its_payment(
    webhooks,  # noqa: F811
    fake_stripe,  # noqa: F811
):
    """Before 0010 a refund that came before the checkout was kept on the purchase
    (refunded_amount) to apply when the payment came. The backfill must record its money back,
    or the pack counts in full once paid and the refund never does."""
    backfill = importlib.import_module("billing.migrations.0010_money_back").money_back_so_far
    pack = make_pack()
    user = make_buyer(fake_stripe)
    with at("2031-01-10T12:00"):
        purchase = pending_purchase(user, pack)
        # As the code before 0010 left it: the refund known, the payment not yet.
        Purchase.objects.filter(pk=purchase.pk).update(refunded_amount=Decimal("3.00"))
        backfill(django_apps, None)
        purchase.refresh_from_db()
        webhooks.send("checkout.session.completed", session_object(purchase))
    with at("2031-02-01T00:00"):
        january = money.revenue(months("2031-01"), "usd").months[0]
    assert january.packs == Decimal("10.00")
    assert january.refunds == Decimal("3.00")
