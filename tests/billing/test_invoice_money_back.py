"""A subscription invoice's charge refunded or charged back: the money back is the invoice's, and
the period's credits still unused are taken back, as a pack purchase's are.

Payloads are the pinned API version's: a charge names no invoice, only its payment intent, and
the invoice's payment (invoice_payment.paid, or the invoice's `payments`) ties the two."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.urls import reverse

from billing.models import MoneyBack, SubscriptionInvoice, UnmatchedStripeEvent
from credits import services
from tests.analytics.test_credits_flow import at
from tests.billing.conftest import (
    invoice_charge_object,
    invoice_dispute_object,
    invoice_object,
    invoice_payment_object,
    make_pack,
    make_plan,
    pending_purchase,
)
from tests.clients import sign_in_staff
from tests.credits.conftest import ACTOR, key, state
from tests.factories import StaffFactory
from tests.pages import page

pytestmark = pytest.mark.django_db

START = int(datetime(2031, 1, 1, tzinfo=UTC).timestamp())
PERIOD = 86400 * 31


def january_invoice(buyer, invoice_id="in_1") -> dict:
    """The plan's invoice: 500 credits for 8.00, for January 2031."""
    return invoice_object(
        buyer, make_plan(), invoice_id=invoice_id, subscription_id="sub_1",
        start=START, end=START + PERIOD,
    )  # fmt: skip


def pay_invoice(webhooks, buyer, invoice_id="in_1"):
    """The invoice paid, and its payment (naming the payment intent) told."""
    webhooks.send("invoice.paid", january_invoice(buyer, invoice_id))
    webhooks.send("invoice_payment.paid", invoice_payment_object(invoice_id))
    return SubscriptionInvoice.objects.get(stripe_invoice_id=invoice_id)


def money_back_of(invoice) -> list[tuple[str, Decimal]]:
    return list(
        MoneyBack.objects.filter(invoice=invoice).order_by("pk").values_list("kind", "amount")
    )


def test_a_full_refund_of_an_invoice_is_its_money_back_and_takes_back_the_period(webhooks, buyer):
    with at("2031-01-01T00:10"):
        invoice = pay_invoice(webhooks, buyer)
    with at("2031-01-05T00:00"):
        webhooks.send("charge.refunded", invoice_charge_object(buyer, "in_1", refunded=800))
        webhooks.send("charge.refunded", invoice_charge_object(buyer, "in_1", refunded=800))

    invoice.refresh_from_db()
    assert money_back_of(invoice) == [("refund", Decimal("8.00"))]  # the redelivery adds none
    assert MoneyBack.objects.get().created_at == datetime(2031, 1, 5, tzinfo=UTC)
    assert (invoice.refunded_amount, invoice.clawed_back_credits) == (Decimal("8.00"), 500)
    assert state(buyer.wallet) == (0, 0, 0)
    assert not UnmatchedStripeEvent.objects.exists()


def test_a_partial_refund_takes_back_its_share_and_what_was_spent_is_the_shortfall(webhooks, buyer):
    with at("2031-01-01T00:10"):
        invoice = pay_invoice(webhooks, buyer)
        services.spend(wallet=buyer.wallet, amount=300, actor=ACTOR, idempotency_key=key())
    with at("2031-01-05T00:00"):
        webhooks.send("charge.refunded", invoice_charge_object(buyer, "in_1", refunded=200))
    invoice.refresh_from_db()
    assert (invoice.clawed_back_credits, invoice.clawback_shortfall) == (125, 0)  # 25 % of 500

    with at("2031-01-06T00:00"):
        webhooks.send("charge.refunded", invoice_charge_object(buyer, "in_1", refunded=800))

    invoice.refresh_from_db()
    assert money_back_of(invoice) == [("refund", Decimal("2.00")), ("refund", Decimal("6.00"))]
    # 375 more were due and 75 were left.
    assert (invoice.clawed_back_credits, invoice.clawback_shortfall) == (200, 300)
    assert state(buyer.wallet)[0] == 0


def test_a_lost_chargeback_after_a_partial_refund_takes_back_only_what_is_left(webhooks, buyer):
    with at("2031-01-01T00:10"):
        invoice = pay_invoice(webhooks, buyer)
    with at("2031-01-05T00:00"):
        webhooks.send("charge.refunded", invoice_charge_object(buyer, "in_1", refunded=300))
    with at("2031-01-20T00:00"):
        webhooks.send("charge.dispute.created", invoice_dispute_object("in_1"))
        webhooks.send("charge.dispute.closed", invoice_dispute_object("in_1", status="lost"))
        webhooks.send("charge.dispute.closed", invoice_dispute_object("in_1", status="lost"))

    invoice.refresh_from_db()
    assert money_back_of(invoice) == [
        ("refund", Decimal("3.00")),
        ("chargeback", Decimal("5.00")),  # the dispute's 8.00, capped at what was left
    ]
    assert invoice.chargeback_lost
    assert (invoice.clawed_back_credits, invoice.clawback_shortfall) == (500, 0)
    assert state(buyer.wallet) == (0, 0, 0)


def test_a_won_dispute_of_an_invoice_moves_nothing(webhooks, buyer):
    with at("2031-01-01T00:10"):
        invoice = pay_invoice(webhooks, buyer)
        webhooks.send("charge.dispute.created", invoice_dispute_object("in_1"))
        webhooks.send("charge.dispute.closed", invoice_dispute_object("in_1", status="won"))

    assert money_back_of(invoice) == []
    assert state(buyer.wallet) == (500, 0, 500)


def test_a_refund_before_its_invoice_and_payment_is_applied_when_the_payment_is_told(
    webhooks, buyer
):
    with at("2031-01-01T00:05"):
        webhooks.send("charge.refunded", invoice_charge_object(buyer, "in_1", refunded=400))
    assert "pi_for_in_1" in UnmatchedStripeEvent.objects.get().reason  # kept for staff meanwhile
    with at("2031-01-01T00:10"):
        webhooks.send("invoice.paid", january_invoice(buyer))
    invoice = SubscriptionInvoice.objects.get()
    assert (invoice.stripe_payment_intent_id, money_back_of(invoice)) == ("", [])  # no link yet
    with at("2031-01-01T00:11"):
        webhooks.send("invoice_payment.paid", invoice_payment_object("in_1"))

    invoice.refresh_from_db()
    assert invoice.stripe_payment_intent_id == "pi_for_in_1"
    assert money_back_of(invoice) == [("refund", Decimal("4.00"))]
    assert MoneyBack.objects.get().created_at == datetime(2031, 1, 1, 0, 5, tzinfo=UTC)
    assert state(buyer.wallet)[0] == 250


def test_a_payment_told_before_its_invoice_is_paid_links_the_invoice_when_it_is(webhooks, buyer):
    with at("2031-01-01T00:05"):
        webhooks.send("invoice_payment.paid", invoice_payment_object("in_1"))
        webhooks.send("charge.dispute.created", invoice_dispute_object("in_1"))
        webhooks.send("charge.dispute.closed", invoice_dispute_object("in_1", status="lost"))
    with at("2031-01-01T00:10"):
        webhooks.send("invoice.paid", january_invoice(buyer))
    with at("2031-01-02T00:00"):
        webhooks.send("charge.refunded", invoice_charge_object(buyer, "in_1", refunded=800))

    invoice = SubscriptionInvoice.objects.get()
    assert invoice.stripe_payment_intent_id == "pi_for_in_1"
    assert money_back_of(invoice) == [("chargeback", Decimal("8.00"))]  # the refund adds none
    assert (invoice.chargeback_lost, invoice.clawed_back_credits) == (True, 500)
    assert state(buyer.wallet) == (0, 0, 0)


def test_an_invoice_paid_listing_its_payments_links_them_with_no_payment_event(webhooks, buyer):
    payment = {**invoice_payment_object("in_1"), "payment": {
        "type": "payment_intent", "payment_intent": "pi_listed",
    }}  # fmt: skip
    open_payment = {**invoice_payment_object("in_1"), "id": "inpay_open", "status": "open"}
    invoice = {**january_invoice(buyer), "payments": {"object": "list", "data": [
        open_payment, payment,
    ]}}  # fmt: skip
    charge = {**invoice_charge_object(buyer, "in_1", refunded=800), "payment_intent": "pi_listed"}
    with at("2031-01-01T00:10"):
        webhooks.send("invoice.paid", invoice)
        webhooks.send("charge.refunded", charge)

    recorded = SubscriptionInvoice.objects.get()
    assert recorded.stripe_payment_intent_id == "pi_listed"
    assert money_back_of(recorded) == [("refund", Decimal("8.00"))]
    assert not UnmatchedStripeEvent.objects.exists()


def test_a_refund_of_a_payment_no_invoice_or_purchase_has_is_kept_for_staff(webhooks, buyer):
    with at("2031-01-01T00:10"):
        pay_invoice(webhooks, buyer)
        charge = {**invoice_charge_object(buyer, "in_1", refunded=800), "payment_intent": "pi_x"}
        webhooks.send("charge.refunded", charge)
        webhooks.send("charge.refunded", {**charge, "id": "ch_2", "payment_intent": None})

    assert not MoneyBack.objects.exists()
    assert list(UnmatchedStripeEvent.objects.order_by("pk").values_list("reason", flat=True)) == [
        "no purchase or invoice for this charge "
        "(payment intent pi_x: applied if an invoice's payment names it)",
        "no purchase or invoice for this charge",
    ]
    assert state(buyer.wallet)[0] == 500


def test_a_payment_of_an_invoice_not_ours_records_nothing(webhooks, buyer):
    with at("2031-01-01T00:10"):
        webhooks.send("invoice_payment.paid", invoice_payment_object("in_not_ours"))

    assert not SubscriptionInvoice.objects.exists()
    assert not UnmatchedStripeEvent.objects.exists()


def test_a_second_payment_of_an_invoice_keeps_the_first_and_is_kept_for_staff(webhooks, buyer):
    with at("2031-01-01T00:10"):
        invoice = pay_invoice(webhooks, buyer)
        second = {**invoice_payment_object("in_1", payment_intent="pi_second"), "id": "inpay_2"}
        webhooks.send("invoice_payment.paid", second)
        webhooks.send("invoice_payment.paid", invoice_payment_object("in_1"))  # a redelivery

    invoice.refresh_from_db()
    assert invoice.stripe_payment_intent_id == "pi_for_in_1"
    unmatched = UnmatchedStripeEvent.objects.get()
    assert (unmatched.event_type, unmatched.reason) == (
        "invoice_payment.paid",
        "invoice in_1 was paid in more than one payment: the refunds and disputes of this one "
        "(inpay_2) are not matched to it",
    )


def test_the_database_refuses_money_back_of_both_a_purchase_and_an_invoice_or_of_neither(
    webhooks, buyer
):
    with at("2031-01-01T00:10"):
        invoice = pay_invoice(webhooks, buyer)
    purchase = pending_purchase(buyer, make_pack())
    common = {"kind": "refund", "amount": Decimal("1.00"), "currency": "usd"}
    for owners in ({"purchase": purchase, "invoice": invoice}, {}):
        with pytest.raises(IntegrityError), transaction.atomic():
            MoneyBack.objects.create(**owners, **common)
    assert MoneyBack.objects.aggregate(total=Sum("amount"))["total"] is None


def test_staff_see_an_invoices_refund_and_shortfall_on_its_subscription(webhooks, buyer, client):
    with at("2031-01-01T00:10"):
        invoice = pay_invoice(webhooks, buyer)
        services.spend(wallet=buyer.wallet, amount=500, actor=ACTOR, idempotency_key=key())
        webhooks.send("charge.refunded", invoice_charge_object(buyer, "in_1", refunded=800))
    sign_in_staff(client, StaffFactory())

    response = client.get(
        reverse("admin:billing_subscription_change", args=[invoice.subscription_id])
    )

    assert response.status_code == 200
    row = {
        name: page(response).select_one(f"td.field-{name}").get_text(strip=True)
        for name in ("amount", "refunded_amount", "clawback_shortfall")
    }
    assert row == {"amount": "8.00", "refunded_amount": "8.00", "clawback_shortfall": "500"}
