"""Stripe does not order deliveries across objects: the events of one payment (or one
subscription), delivered in any order and any of them twice, through the real signed webhook
view, end exactly where the in-order delivery ends, and the ledger reconciles."""

import itertools
import time
from decimal import Decimal

import pytest
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Subscription, SubscriptionInvoice, UnmatchedStripeEvent
from credits.models import CreditGrant
from credits.reconciliation import reconcile
from tests.billing.conftest import (
    charge_object,
    dispute_object,
    invoice_charge_object,
    invoice_dispute_object,
    invoice_object,
    invoice_payment_object,
    make_buyer,
    make_pack,
    make_plan,
    make_promotion,
    payment_intent_object,
    pending_purchase,
    session_object,
    subscription_object,
)
from tests.credits.conftest import state

pytestmark = pytest.mark.django_db

PACK_PRICE_CENTS = 1000  # the pack: 1,000 credits for 10.00, and a 200-credit promo bonus


def payment_events(purchase, *, delayed: bool, refunds: tuple[int, ...], dispute: str):
    """The events of one payment, in the order they happened.

    `delayed`: a delayed payment method (completed unpaid, then async_payment_succeeded).
    `refunds`: Stripe's cumulative amount_refunded after each refund, in cents.
    `dispute`: "" (none), "open" (created only), "won" or "lost" (created, then closed).
    """
    intent = f"pi_for_{purchase.pk}"
    paid = session_object(purchase, payment_intent=intent)
    if delayed:
        events = [
            ("checkout.session.completed", {**paid, "payment_status": "unpaid"}),
            ("checkout.session.async_payment_succeeded", paid),
        ]
    else:
        events = [("checkout.session.completed", paid)]
    for refunded in refunds:
        charge = charge_object(purchase, refunded=refunded, payment_intent=intent)
        events.append(("charge.refunded", charge))
    if dispute:
        events.append(("charge.dispute.created", dispute_object(purchase, payment_intent=intent)))
    if dispute in ("won", "lost"):
        closed = dispute_object(purchase, status=dispute, payment_intent=intent)
        events.append(("charge.dispute.closed", closed))
    return events


def end_state(purchase) -> tuple:
    """What the buyer and staff see once every event is in, and that the ledger is sound."""
    purchase.refresh_from_db()
    return (
        state(purchase.user.wallet),
        purchase.status,
        purchase.refunded_amount,
        purchase.clawed_back_credits,
        purchase.clawback_shortfall,
        purchase.dispute_outcome,
        bool(purchase.stripe_payment_intent_id),  # so a later dispute finds the purchase
        # All the money that went back, refunds and chargeback together, as revenue nets it.
        purchase.money_back.aggregate(total=Sum("amount"))["total"],
        reconcile().problems,
    )


class Payments:
    """A fresh buyer and purchase for each delivery, so many fit in one test's database."""

    def __init__(self, webhooks):
        self.webhooks = webhooks
        self.pack = make_pack()
        self.promotion = make_promotion(max_redemptions=None, max_per_user=1)

    def deliver(self, scenario: dict, order) -> tuple:
        """Deliver the scenario's events in `order` (indexes, repeats allowed); the end state."""
        buyer = make_buyer(self.webhooks.fake)
        purchase = pending_purchase(buyer, self.pack, bonus=200, promotion=self.promotion)
        intent = payment_intent_object(purchase)
        self.webhooks.fake.add({**intent, "id": f"pi_for_{purchase.pk}"})
        events = payment_events(purchase, **scenario)
        unmatched_before = UnmatchedStripeEvent.objects.count()
        for index in order:
            self.webhooks.send(*events[index])
        return (*end_state(purchase), UnmatchedStripeEvent.objects.count() - unmatched_before)


@pytest.fixture
def payments(webhooks):
    return Payments(webhooks)


def test_a_partial_refund_before_the_checkout_leaves_the_refunded_share(payments):
    """The issue's case: 2.50 of 10.00 refunded, the refund delivered first: 75 % of the pack
    and its bonus stay, nothing is a shortfall, and the intent is kept for a later dispute."""
    scenario = {"delayed": False, "refunds": (250,), "dispute": ""}

    (wallet, status, refunded, taken, shortfall, *_rest) = payments.deliver(scenario, [1, 0])

    assert wallet == (900, 0, 900)
    assert (status, refunded, taken, shortfall) == ("partially_refunded", Decimal("2.50"), 300, 0)


def test_a_full_refund_then_a_lost_dispute_before_the_checkout_records_no_shortfall(payments):
    scenario = {"delayed": False, "refunds": (1000,), "dispute": "lost"}

    end = payments.deliver(scenario, [1, 2, 3, 0])

    assert end == payments.deliver(scenario, [0, 1, 2, 3])
    (wallet, status, _refunded, taken, shortfall, outcome, intent, back, problems, unmatched) = end
    assert (wallet, status, taken, shortfall, outcome) == ((0, 0, 0), "refunded", 1200, 0, "lost")
    assert back == Decimal("10.00")  # the refund and the chargeback never both count
    assert (intent, problems, unmatched) == (True, [], 0)


scenarios = st.fixed_dictionaries(
    {
        "delayed": st.booleans(),
        "refunds": st.sampled_from([(), (250,), (1000,), (250, 1000)]),
        "dispute": st.sampled_from(["", "open", "won", "lost"]),
    }
)


@st.composite
def deliveries(draw):
    """A scenario, and its events' indexes in any order, each possibly delivered twice."""
    scenario = draw(scenarios)
    count = (
        (2 if scenario["delayed"] else 1)
        + len(scenario["refunds"])
        + {"": 0, "open": 1}.get(scenario["dispute"], 2)
    )
    repeated = [index for index in range(count) if draw(st.booleans())]
    order = draw(st.permutations([*range(count), *repeated]))
    return scenario, order


def test_every_order_of_a_payments_events_ends_as_the_in_order_delivery(payments):
    in_order: dict[str, tuple] = {}

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(deliveries())
    def check(delivery):
        scenario, order = delivery
        key = repr(sorted(scenario.items()))
        if key not in in_order:
            in_order[key] = payments.deliver(scenario, range(len(set(order))))
        assert payments.deliver(scenario, order) == in_order[key]

    check()


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_all_orders_of_a_refund_and_a_dispute_end_alike(payments, outcome):
    """Exhaustive over a smaller set: checkout, a partial refund, a dispute opened and closed."""
    scenario = {"delayed": False, "refunds": (250,), "dispute": outcome}
    expected = payments.deliver(scenario, range(4))
    assert expected[0] == ((900, 0, 900) if outcome == "won" else (0, 0, 0))

    for order in itertools.permutations(range(4)):
        assert payments.deliver(scenario, order) == expected, order


# --- A subscription's events ------------------------------------------------------------------

DAY = 86400


class Subscriptions:
    """A fresh buyer and Stripe subscription for each delivery; the times are fixed once, as
    Stripe's own timestamps are (events carry when they happened, not when they arrive)."""

    def __init__(self, webhooks):
        self.webhooks = webhooks
        self.monthly = make_plan()
        self.bigger = make_plan(name="Bigger", credits=2000, stripe_price_id="price_bigger")
        self.now = int(time.time())

    def events(self, buyer, *, cancelled: bool) -> list:
        """Created on the monthly plan, its first invoice paid, then moved to the bigger plan
        (to end with the period), and perhaps cancelled at once."""
        sub = f"sub_of_{buyer.pk}"
        now = self.now
        invoice = invoice_object(
            buyer, self.monthly, invoice_id=f"in_of_{buyer.pk}", subscription_id=sub,
            start=now - DAY, end=now + 29 * DAY,
        )  # fmt: skip
        created = subscription_object(buyer, self.monthly, subscription_id=sub, now=now - DAY)
        changed = subscription_object(
            buyer, self.bigger, subscription_id=sub, now=now - DAY, cancel_at_period_end=True
        )
        events = [
            ("customer.subscription.created", created, now - DAY),
            ("invoice.paid", invoice, now - DAY + 5),
            ("customer.subscription.updated", changed, now - 60),
        ]
        if cancelled:
            ended = {**changed, "status": "canceled", "canceled_at": now - 30, "ended_at": now - 30}
            events.append(("customer.subscription.deleted", ended, now - 30))
        return events

    def deliver(self, *, cancelled: bool, order) -> tuple:
        buyer = make_buyer(self.webhooks.fake)
        events = self.events(buyer, cancelled=cancelled)
        unmatched_before = UnmatchedStripeEvent.objects.count()
        for index in order:
            event_type, obj, created = events[index]
            self.webhooks.send(event_type, obj, created=created)
        subscription = Subscription.objects.get(user=buyer)
        return (
            state(buyer.wallet),
            subscription.status,
            subscription.package.name,
            subscription.cancel_at_period_end,
            subscription.ended_at,
            subscription.current_period_start,
            subscription.current_period_end,
            list(subscription.invoices.values_list("credits", "rollover_credits")),
            list(
                CreditGrant.objects.filter(wallet=buyer.wallet).values_list("amount", "expires_at")
            ),
            reconcile().problems,
            UnmatchedStripeEvent.objects.count() - unmatched_before,
        )


@pytest.fixture
def subscriptions(webhooks):
    return Subscriptions(webhooks)


@pytest.mark.parametrize("cancelled", [False, True])
def test_all_orders_of_a_subscriptions_events_end_alike(subscriptions, cancelled):
    """The invoice grants the plan it paid for (monthly: 500), even when the move to the bigger
    plan arrives first; the newest subscription event wins whatever came after it."""
    count = 4 if cancelled else 3
    expected = subscriptions.deliver(cancelled=cancelled, order=range(count))
    assert expected[0] == (500, 0, 500)
    assert expected[1:4] == ("canceled" if cancelled else "active", "Bigger", True)

    for order in itertools.permutations(range(count)):
        assert subscriptions.deliver(cancelled=cancelled, order=order) == expected, order


def test_a_subscriptions_events_in_any_order_and_twice_end_alike(subscriptions):
    in_order = {
        cancelled: subscriptions.deliver(cancelled=cancelled, order=range(4 if cancelled else 3))
        for cancelled in (False, True)
    }

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        st.booleans().flatmap(
            lambda cancelled: st.tuples(st.just(cancelled), twice(4 if cancelled else 3))
        )
    )
    def check(delivery):
        cancelled, order = delivery
        assert subscriptions.deliver(cancelled=cancelled, order=order) == in_order[cancelled]

    check()


def twice(count: int):
    """Every index of `count` events in any order, some of them delivered twice."""
    repeats = st.lists(st.integers(0, count - 1), max_size=count, unique=True)
    return repeats.flatmap(lambda again: st.permutations([*range(count), *again]))


# --- A subscription invoice's charge refunded or disputed ---------------------------------------

INVOICE_CENTS = 800  # the plan: 500 credits for 8.00 a month


class InvoicePayments:
    """A fresh buyer and invoice for each delivery of an invoice's payment events, as the pinned
    API version sends them: paid, its payment told (invoice_payment.paid: the only event tying
    the invoice to its payment intent; the charge and dispute name the intent, not the
    invoice), then perhaps refunded (Stripe's cumulative amount_refunded after each refund) and
    disputed."""

    def __init__(self, webhooks):
        self.webhooks = webhooks
        self.plan = make_plan()
        self.now = int(time.time())

    def events(self, buyer, *, refunds: tuple[int, ...], dispute: str) -> list:
        invoice_id = f"in_of_{buyer.pk}"
        invoice = invoice_object(
            buyer, self.plan, invoice_id=invoice_id, subscription_id=f"sub_of_{buyer.pk}",
            start=self.now - DAY, end=self.now + 29 * DAY,
        )  # fmt: skip
        events = [
            ("invoice.paid", invoice),
            ("invoice_payment.paid", invoice_payment_object(invoice_id)),
        ]
        for refunded in refunds:
            charge = invoice_charge_object(buyer, invoice_id, refunded=refunded)
            events.append(("charge.refunded", charge))
        if dispute:
            events.append(("charge.dispute.created", invoice_dispute_object(invoice_id)))
        if dispute in ("won", "lost"):
            closed = invoice_dispute_object(invoice_id, status=dispute)
            events.append(("charge.dispute.closed", closed))
        return events

    def deliver(self, scenario: dict, order) -> tuple:
        buyer = make_buyer(self.webhooks.fake)
        events = self.events(buyer, **scenario)
        for index in order:
            self.webhooks.send(*events[index])
        invoice = SubscriptionInvoice.objects.get(subscription__user=buyer)
        back = invoice.money_back.aggregate(total=Sum("amount"))["total"] or Decimal(0)
        assert back <= invoice.amount  # never more back than was paid, in any order
        return (
            state(buyer.wallet),
            invoice.refunded_amount,
            invoice.chargeback_lost,
            invoice.clawed_back_credits,
            invoice.clawback_shortfall,
            back,  # all the money that went back, refunds and chargeback together
            reconcile().problems,
        )


@pytest.fixture
def invoice_payments(webhooks):
    return InvoicePayments(webhooks)


invoice_scenarios = st.fixed_dictionaries(
    {
        "refunds": st.sampled_from([(), (200,), (INVOICE_CENTS,), (200, INVOICE_CENTS)]),
        "dispute": st.sampled_from(["", "open", "won", "lost"]),
    }
)


@st.composite
def invoice_deliveries(draw):
    scenario = draw(invoice_scenarios)
    count = 2 + len(scenario["refunds"]) + {"": 0, "open": 1}.get(scenario["dispute"], 2)
    repeated = [index for index in range(count) if draw(st.booleans())]
    return scenario, draw(st.permutations([*range(count), *repeated]))


def test_every_order_of_an_invoices_refunds_and_dispute_ends_as_the_in_order_delivery(
    invoice_payments,
):
    in_order: dict[str, tuple] = {}

    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(invoice_deliveries())
    def check(delivery):
        scenario, order = delivery
        key = repr(sorted(scenario.items()))
        if key not in in_order:
            in_order[key] = invoice_payments.deliver(scenario, range(len(set(order))))
        assert invoice_payments.deliver(scenario, order) == in_order[key]

    check()


@pytest.mark.parametrize("outcome", ["won", "lost"])
def test_all_orders_of_an_invoices_refund_and_dispute_end_alike(invoice_payments, outcome):
    """Exhaustive over a smaller set: paid, its payment told, a quarter refunded, a dispute
    opened and closed."""
    scenario = {"refunds": (200,), "dispute": outcome}
    expected = invoice_payments.deliver(scenario, range(5))
    if outcome == "won":
        assert expected[0] == (375, 0, 375)
        assert expected[5] == Decimal("2.00")
    else:
        assert expected[0] == (0, 0, 0)
        assert expected[5] == Decimal("8.00")  # the refund and the chargeback never both count
    assert expected[6] == []

    for order in itertools.permutations(range(5)):
        assert invoice_payments.deliver(scenario, order) == expected, order
