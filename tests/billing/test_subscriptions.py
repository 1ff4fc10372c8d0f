"""Subscriptions: every paid invoice grants its period's credits once, with rollover; the
subscription mirrors Stripe whatever order the events arrive in."""

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from billing.models import Subscription, SubscriptionInvoice, UnmatchedStripeEvent
from credits.models import CreditGrant
from tests.billing.conftest import invoice_object, make_plan, subscription_object
from tests.credits.conftest import ACTOR, key, state

pytestmark = pytest.mark.django_db

DAY = 86400


def period(offset_days: int, length_days: int = 30) -> tuple[int, int]:
    start = int(time.time()) + offset_days * DAY
    return start, start + length_days * DAY


def pay_invoice(webhooks, user, plan, number: int, start: int, end: int, sub="sub_1"):
    invoice = invoice_object(
        user, plan, invoice_id=f"in_{number}", subscription_id=sub, start=start, end=end
    )
    webhooks.send("invoice.paid", invoice)
    return invoice


def test_a_paid_invoice_grants_the_periods_credits_expiring_at_its_end(webhooks, buyer):
    plan = make_plan()
    start, end = period(0)

    invoice = pay_invoice(webhooks, buyer, plan, 1, start, end)
    webhooks.send("invoice.paid", invoice)  # redelivered under a new event id

    grant = CreditGrant.objects.get(wallet=buyer.wallet)
    assert (grant.source, grant.amount) == ("subscription", 500)
    assert grant.expires_at == datetime.fromtimestamp(end, tz=UTC)
    subscription = Subscription.objects.get(stripe_subscription_id="sub_1")
    assert (subscription.user, subscription.package) == (buyer, plan)
    assert SubscriptionInvoice.objects.count() == 1
    assert state(buyer.wallet)[0] == 500


@pytest.mark.parametrize(
    ("rollover", "cap", "carried"), [("none", None, 0), ("capped", 150, 150), ("all", None, 300)]
)
def test_the_next_period_applies_the_rollover_rule_to_unused_credits(
    webhooks, buyer, rollover, cap, carried
):
    from credits import services

    plan = make_plan(rollover=rollover, rollover_cap=cap)
    start, end = period(0)
    pay_invoice(webhooks, buyer, plan, 1, start, end)
    services.spend(wallet=buyer.wallet, amount=200, actor=ACTOR, idempotency_key=key())

    with time_machine.travel(datetime.fromtimestamp(end + 60, tz=UTC)):
        pay_invoice(webhooks, buyer, plan, 2, end, end + 30 * DAY)

        assert SubscriptionInvoice.objects.get(stripe_invoice_id="in_2").rollover_credits == carried
        assert state(buyer.wallet)[0] == 500 + carried


def test_an_invoice_before_the_subscription_events_still_grants_and_creates_it(webhooks, buyer):
    plan = make_plan()
    start, end = period(0)

    pay_invoice(webhooks, buyer, plan, 1, start, end, sub="sub_early")
    webhooks.send(
        "customer.subscription.created",
        subscription_object(buyer, plan, subscription_id="sub_early"),
    )

    subscription = Subscription.objects.get(stripe_subscription_id="sub_early")
    assert subscription.status == "active"
    assert state(buyer.wallet)[0] == 500


def test_an_older_subscription_event_arriving_late_changes_nothing(webhooks, buyer):
    plan = make_plan()
    now = int(time.time())
    cancelled = subscription_object(buyer, plan, subscription_id="sub_2", status="canceled")
    active = subscription_object(buyer, plan, subscription_id="sub_2", status="active")

    webhooks.send("customer.subscription.deleted", cancelled, created=now)
    webhooks.send("customer.subscription.updated", active, created=now - 60)

    assert Subscription.objects.get(stripe_subscription_id="sub_2").status == "canceled"


def test_a_subscription_naming_no_plan_of_ours_is_kept_for_staff(webhooks, buyer):
    plan = make_plan()
    foreign = subscription_object(buyer, plan, subscription_id="sub_dashboard", metadata={})

    webhooks.send("customer.subscription.created", foreign)

    assert not Subscription.objects.exists()
    (kept,) = UnmatchedStripeEvent.objects.all()
    assert (kept.event_type, kept.reason) == (
        "customer.subscription.created",
        "subscription sub_dashboard names no plan and user of ours",
    )


def test_a_plan_change_and_cancellation_are_mirrored(webhooks, buyer):
    monthly = make_plan()
    bigger = make_plan(name="Bigger", credits=2000, stripe_price_id="price_bigger")
    now = int(time.time())
    webhooks.send(
        "customer.subscription.created",
        subscription_object(buyer, monthly, subscription_id="sub_3"),
        created=now,
    )

    changed = subscription_object(buyer, bigger, subscription_id="sub_3", cancel_at_period_end=True)
    webhooks.send("customer.subscription.updated", changed, created=now + 1)

    subscription = Subscription.objects.get(stripe_subscription_id="sub_3")
    assert (subscription.package, subscription.cancel_at_period_end) == (bigger, True)


def test_a_cancelled_subscription_keeps_its_granted_credits_until_they_expire(webhooks, buyer):
    plan = make_plan()
    start, end = period(0)
    pay_invoice(webhooks, buyer, plan, 1, start, end, sub="sub_4")

    webhooks.send(
        "customer.subscription.deleted",
        subscription_object(buyer, plan, subscription_id="sub_4", status="canceled"),
    )

    assert Subscription.objects.get(stripe_subscription_id="sub_4").status == "canceled"
    grant = CreditGrant.objects.get(wallet=buyer.wallet)
    assert (grant.remaining, grant.expires_at) == (500, datetime.fromtimestamp(end, tz=UTC))
    assert timedelta(days=29) < grant.expires_at - datetime.now(UTC) <= timedelta(days=30)


def test_a_late_invoice_for_a_period_already_over_grants_for_a_grace_period_and_tells_staff(
    webhooks, buyer, settings
):
    settings.BILLING_LATE_INVOICE_GRACE_DAYS = 5
    start, end = period(-40)

    pay_invoice(webhooks, buyer, make_plan(), 1, start, end)  # a retry that succeeded late

    assert state(buyer.wallet)[0] == 500
    grant = CreditGrant.objects.get(wallet=buyer.wallet)
    assert timedelta(days=4) < grant.expires_at - datetime.now(UTC) <= timedelta(days=5)
    reason = UnmatchedStripeEvent.objects.get(event_type="invoice.paid").reason
    assert "period already ended" in reason
    assert "granted late" in reason


def test_a_cancelled_subscription_grants_only_periods_that_started_before_it_ended(webhooks, buyer):
    plan = make_plan()
    ended = int(time.time()) - DAY
    cancelled = subscription_object(
        buyer, plan, subscription_id="sub_5", status="canceled", canceled_at=ended, ended_at=ended
    )
    webhooks.send("customer.subscription.deleted", cancelled)

    start, end = period(-10)
    pay_invoice(webhooks, buyer, plan, 1, start, end, sub="sub_5")  # paid before, arriving late
    pay_invoice(webhooks, buyer, plan, 2, end, end + 30 * DAY, sub="sub_5")

    assert state(buyer.wallet)[0] == 500
    assert list(SubscriptionInvoice.objects.values_list("stripe_invoice_id", flat=True)) == ["in_1"]
