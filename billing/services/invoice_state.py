"""A subscription invoice's money back and credits follow from what Stripe told us about the
charge that paid it, whatever order it came in, by a pack purchase's rule (see
billing.services.purchase_state).

The facts, recorded on the invoice and each only ever growing: the refunded amount (the largest
Stripe reported) and whether a chargeback was lost (a payment is charged back once). Each growth
is recorded as money back, never more than the invoice's amount; `settle` then takes back the
refunded share of the period's credits (all of them once a chargeback is lost) from the period's
grant, under a key naming the total taken, so a redelivery replays. What is no longer there
(used, or expired at the period's end and perhaps rolled over into the next period's grant) is
the shortfall, kept on the invoice for staff.

Unlike a purchase's, an open dispute holds nothing: Stripe takes the money only when it is lost.

Since Stripe's 2025-03-31.basil (our pinned version is later) a charge no longer names its
invoice: the link is the invoice's payment (an InvoicePayment, told by invoice_payment.paid, or
listed in the invoice's `payments`), which names the payment intent; the charge and a dispute
name the same intent. A refund or dispute arriving before the invoice or its payment is known
finds no invoice row: it is kept as unmatched, and `catch_up` applies it once the link is
learnt, dated when it arrived.
"""

from datetime import datetime
from decimal import Decimal

from billing import selectors
from billing.models import MoneyBack, SubscriptionInvoice
from billing.services.purchase_state import claw_back, record_money_back
from billing.stripe_api import from_minor_units
from credits import selectors as credit_selectors


def payment_intent_of(invoice: dict) -> str:
    """The payment intent an invoice's payload says paid it (`payments`, when the payload
    carries them), else the one an invoice_payment.paid event already told us; empty if none."""
    for payment in (invoice.get("payments") or {}).get("data") or []:
        intent = _paid_intent(payment)
        if intent:
            return intent
    return selectors.paid_invoice_payment_intent(invoice["id"])


def _paid_intent(invoice_payment: dict) -> str:
    """The payment intent of an invoice payment that was paid by one (not one still open or
    canceled, nor paid out of band)."""
    payment = invoice_payment.get("payment") or {}
    if invoice_payment.get("status") != "paid" or payment.get("type") != "payment_intent":
        return ""
    return selectors.stripe_id(payment.get("payment_intent"))


def learn_payment_intent(invoice: SubscriptionInvoice, invoice_payment: dict) -> bool:
    """Record the payment intent an invoice payment names, if the invoice has none yet; False
    if it names another one (the invoice was paid in parts: one field holds one payment)."""
    intent = _paid_intent(invoice_payment)
    if not intent or intent == invoice.stripe_payment_intent_id:
        return True
    if invoice.stripe_payment_intent_id:
        return False
    invoice.stripe_payment_intent_id = intent
    return True


def record(
    invoice: SubscriptionInvoice,
    event_type: str,
    charge_or_dispute: dict,
    *,
    told_at: datetime | None = None,
) -> None:
    """What one event of the invoice's charge says: the refunded amount grew, or a chargeback
    was lost (`told_at`: when Stripe told us, default now)."""
    if event_type == "charge.refunded":
        _record_refunded(invoice, charge_or_dispute, told_at)
    elif charge_or_dispute.get("status") == "lost":
        _record_chargeback(invoice, charge_or_dispute, told_at)


def catch_up(invoice: SubscriptionInvoice) -> None:
    """Apply the refunds and disputes of the invoice's payment that arrived before the invoice
    or its payment was known: recording only grows the facts, so one applied already adds
    nothing."""
    for event_type, obj, arrived in selectors.unmatched_money_back_of(
        invoice.stripe_payment_intent_id
    ):
        record(invoice, event_type, obj, told_at=arrived)


def _record_refunded(invoice: SubscriptionInvoice, charge: dict, told_at) -> None:
    """Stripe's refunded amount only grows: an older, smaller one arriving late changes nothing."""
    if not charge.get("amount_refunded"):
        return
    refunded = from_minor_units(charge["amount_refunded"], invoice.currency)
    grown = refunded - invoice.refunded_amount
    if grown <= 0:
        return
    invoice.refunded_amount = refunded
    record_money_back(invoice, MoneyBack.Kind.REFUND, grown, told_at=told_at)


def _record_chargeback(invoice: SubscriptionInvoice, dispute: dict, told_at) -> None:
    """A chargeback lost took the disputed amount back (all that is left if it names none)."""
    if invoice.chargeback_lost:
        return
    invoice.chargeback_lost = True
    disputed = dispute.get("amount")
    amount = None if disputed is None else from_minor_units(disputed, invoice.currency)
    record_money_back(invoice, MoneyBack.Kind.CHARGEBACK, amount, told_at=told_at)


def credits_to_take_back(invoice: SubscriptionInvoice) -> int:
    """How many of the period's credits the money that went back stands for: all of them once a
    chargeback is lost, else the refunded share. Rolled-over credits were paid by the invoice
    before, so they stay."""
    if invoice.chargeback_lost:
        return invoice.credits
    if not invoice.refunded_amount or not invoice.amount:
        return 0
    share = min(invoice.refunded_amount / invoice.amount, Decimal(1))
    return int(invoice.credits * share)


def settle(invoice: SubscriptionInvoice) -> None:
    """Take back what the facts say and was not taken yet, and save the invoice (locked by the
    caller: one event of its charge at a time)."""
    target = credits_to_take_back(invoice)
    due = target - invoice.clawed_back_credits - invoice.clawback_shortfall
    if due > 0:
        taken = claw_back(
            _period_grant(invoice),
            due,
            reason=(
                f"Taken back: the payment for your subscription's period "
                f"{invoice.period_start:%Y-%m-%d} to {invoice.period_end:%Y-%m-%d} was returned"
            ),
            key=f"invoice:{invoice.pk}:take-back-to:{target}",
            paid=invoice,
        )
        invoice.clawed_back_credits += taken
        invoice.clawback_shortfall += due - taken
    invoice.save()


def _period_grant(invoice: SubscriptionInvoice):
    """The grant of the period's own credits: the first the invoice made (a rollover grant, made
    after it, carries credits the invoice before paid for)."""
    return list(credit_selectors.grants_from(invoice).order_by("id")[:1])
