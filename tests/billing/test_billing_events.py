"""Billing's events, through the real signed webhook view: purchase.paid once per purchase
however often (and in whatever order) Stripe delivers, purchase.refunded once per refunded
amount, subscription.renewed once per paid invoice."""

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import CreditPackage, Purchase, Subscription
from events.models import Event
from tests.billing.conftest import (
    charge_object,
    invoice_object,
    make_buyer,
    make_pack,
    make_plan,
    make_promotion,
    payment_intent_object,
    pending_purchase,
    session_object,
)

pytestmark = pytest.mark.django_db

DAY = 86400


def billing_events(user, type_: str) -> list[dict]:
    return [
        event.data for event in Event.objects.filter(type=type_, user_id=user.pk).order_by("id")
    ]


def buy(webhooks, *, bonus: int = 0):
    pack = CreditPackage.objects.filter(name="Standard").first() or make_pack()
    promotion = make_promotion() if bonus else None
    buyer = make_buyer(webhooks.fake)
    purchase = pending_purchase(buyer, pack, bonus=bonus, promotion=promotion)
    webhooks.fake.add({**payment_intent_object(purchase), "id": f"pi_for_{purchase.pk}"})
    return buyer, purchase


def test_a_paid_checkout_announces_the_purchase_once_across_redeliveries(
    webhooks, everyone_listens
):
    buyer, purchase = buy(webhooks, bonus=200)
    paid = session_object(purchase)
    webhooks.send("checkout.session.completed", paid)
    webhooks.send("checkout.session.completed", paid)  # redelivered, a new event id
    webhooks.send("checkout.session.completed", paid, event_id="evt_same")
    webhooks.send("checkout.session.completed", paid, event_id="evt_same")
    purchase.refresh_from_db()
    assert billing_events(buyer, "purchase.paid") == [
        {
            "purchase_id": purchase.pk,
            "package": "Standard",
            "credits": 1000,
            "bonus_credits": 200,
            "amount": "10.00",
            "currency": "usd",
            "paid_at": as_json(purchase.paid_at),
        }
    ]
    # Beside it, the ledger's own events for the pack and its bonus.
    assert Event.objects.filter(type="credits.granted", user_id=buyer.pk).count() == 2


def test_a_checkout_that_is_not_paid_yet_announces_nothing_until_it_is(webhooks, everyone_listens):
    buyer, purchase = buy(webhooks)
    paid = session_object(purchase)
    webhooks.send("checkout.session.completed", {**paid, "payment_status": "unpaid"})
    assert billing_events(buyer, "purchase.paid") == []
    webhooks.send("checkout.session.async_payment_succeeded", paid)
    webhooks.send("checkout.session.async_payment_succeeded", paid)
    assert len(billing_events(buyer, "purchase.paid")) == 1


def test_a_refund_is_announced_once_per_refunded_amount(webhooks, everyone_listens):
    buyer, purchase = buy(webhooks)
    intent = f"pi_for_{purchase.pk}"
    webhooks.send("checkout.session.completed", session_object(purchase, payment_intent=intent))
    quarter = charge_object(purchase, refunded=250, payment_intent=intent)
    webhooks.send("charge.refunded", quarter)
    webhooks.send("charge.refunded", quarter)  # redelivered: the same amount, nothing new
    webhooks.send("charge.refunded", charge_object(purchase, refunded=1000, payment_intent=intent))
    webhooks.send("charge.refunded", quarter)  # an older one, late: changes nothing
    refunds = billing_events(buyer, "purchase.refunded")
    assert [(refund["refunded_amount"], refund["credits_taken_back"]) for refund in refunds] == [
        ("2.50", 250),
        ("10.00", 1000),
    ]
    assert set(refunds[0]) == {
        "purchase_id",
        "package",
        "refunded_amount",
        "currency",
        "credits_taken_back",
        "refunded_at",
    }
    assert (refunds[0]["purchase_id"], refunds[0]["package"], refunds[0]["currency"]) == (
        purchase.pk,
        "Standard",
        "usd",
    )
    assert Purchase.objects.get(pk=purchase.pk).status == "refunded"


@st.composite
def deliveries(draw):
    """The checkout and two refunds, in any order, each possibly delivered twice."""
    repeated = [index for index in range(3) if draw(st.booleans())]
    return draw(st.permutations([0, 1, 2, *repeated]))


def test_in_any_order_of_delivery_the_purchase_is_announced_paid_once(webhooks, everyone_listens):
    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(deliveries())
    def check(order):
        buyer, purchase = buy(webhooks)
        intent = f"pi_for_{purchase.pk}"
        events = [
            ("checkout.session.completed", session_object(purchase, payment_intent=intent)),
            ("charge.refunded", charge_object(purchase, refunded=250, payment_intent=intent)),
            ("charge.refunded", charge_object(purchase, refunded=500, payment_intent=intent)),
        ]
        for index in order:
            webhooks.send(*events[index])
        assert len(billing_events(buyer, "purchase.paid")) == 1
        refunded = [
            refund["refunded_amount"] for refund in billing_events(buyer, "purchase.refunded")
        ]
        # Each growth of the refunded amount once; the last always says 5.00 in all.
        assert refunded[-1] == "5.00"
        assert len(refunded) == len(set(refunded)) <= 2

    check()


def test_each_paid_invoice_announces_the_renewal_once(webhooks, buyer, everyone_listens):
    plan = make_plan()
    start = int(time.time())
    first = invoice_object(
        buyer, plan, invoice_id="in_1", subscription_id="sub_1", start=start, end=start + 30 * DAY
    )
    webhooks.send("invoice.paid", first)
    webhooks.send("invoice.paid", first)  # redelivered
    second = invoice_object(
        buyer,
        plan,
        invoice_id="in_2",
        subscription_id="sub_1",
        start=start + 30 * DAY,
        end=start + 60 * DAY,
    )
    webhooks.send("invoice.paid", second)
    renewals = billing_events(buyer, "subscription.renewed")
    subscription = Subscription.objects.get(stripe_subscription_id="sub_1")
    assert [(renewal["period_start"], renewal["period_end"]) for renewal in renewals] == [
        (_iso(start), _iso(start + 30 * DAY)),
        (_iso(start + 30 * DAY), _iso(start + 60 * DAY)),
    ]
    assert renewals[0] == {
        "subscription_id": subscription.pk,
        "plan": "Monthly",
        "credits": 500,
        "amount": str(Decimal("8.00")),
        "currency": "usd",
        "period_start": _iso(start),
        "period_end": _iso(start + 30 * DAY),
    }


def _iso(timestamp: int) -> str:
    return as_json(datetime.fromtimestamp(timestamp, tz=UTC))


def as_json(value):
    """A value as an event's payload holds it."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def test_nobody_listening_writes_no_billing_event(webhooks, nobody_listens):
    _buyer, purchase = buy(webhooks)
    webhooks.send("checkout.session.completed", session_object(purchase))
    assert Event.objects.count() == 0
