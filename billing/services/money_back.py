"""Money coming back: a Stripe refund takes back the refunded share of a purchase's credits; a
chargeback holds them until it is decided, then frees them (won) or takes them back (lost).

Each handler records what its event says on the purchase and lets `purchase_state.settle`
derive the credits from everything known so far, so the end is the same in any order (a refund
or dispute arriving before the checkout that paid is applied when the payment is recorded).
Never below zero: what was already spent is recorded on the purchase as a shortfall for staff.

A charge that paid a subscription invoice is no purchase's: it is matched to the invoice by its
payment intent (the invoice's payment names it), and its refund or lost chargeback is the
invoice's money back, taking back the period's credits, by `invoice_state`.
"""

from django.db import transaction

from billing import selectors
from billing.models import Purchase, SubscriptionInvoice
from billing.services import announcements, invoice_state, purchase_state
from billing.services.events import unmatched
from billing.stripe_api import from_minor_units


def _purchase_for_charge(charge_or_dispute: dict) -> Purchase | None:
    """The purchase a charge or dispute is about: by its payment intent, else by the purchase id
    our checkout put in the intent's metadata (on the event's object, or on the intent dj-stripe
    stored), for one that arrived before the checkout that recorded the intent."""
    payment_intent = charge_or_dispute.get("payment_intent")
    purchases = Purchase.objects.select_for_update()
    if payment_intent:
        found = purchases.filter(stripe_payment_intent_id=payment_intent).first()
        if found:
            return found
    metadata = charge_or_dispute.get("metadata") or {}
    purchase_id = str(metadata.get("purchase_id", ""))
    if not purchase_id.isdecimal() and payment_intent:
        purchase_id = selectors.purchase_id_of_payment_intent(payment_intent)
    if purchase_id.isdecimal():
        return purchases.filter(pk=purchase_id).first()
    return None


@transaction.atomic
def charge_refunded(*, charge: dict, event_id: str, event_type: str) -> None:
    """Money went back to the buyer: take back the refunded share of the purchase's credits.

    Stripe's amount_refunded only grows, but its events may arrive out of order: the largest
    seen counts, and only what it adds is taken back.
    """
    purchase = _purchase_for_charge(charge)
    if purchase is None:
        _invoice_money_back(charge, event_id=event_id, event_type=event_type)
        return
    if not charge.get("amount") or not charge.get("amount_refunded"):
        return
    purchase.stripe_charge_id = charge.get("id", "")
    purchase.receipt_url = charge.get("receipt_url") or purchase.receipt_url
    purchase_state.record_payment_intent(purchase, charge.get("payment_intent"))
    refunded_before = purchase.refunded_amount
    purchase_state.record_refunded(
        purchase, from_minor_units(charge["amount_refunded"], purchase.currency)
    )
    purchase_state.settle(purchase, event_id=event_id, event_type=event_type)
    if purchase.refunded_amount > refunded_before:
        announcements.purchase_refunded(purchase)


@transaction.atomic
def dispute_opened(*, dispute: dict, event_id: str, event_type: str) -> None:
    """A chargeback or inquiry: hold what is left of the purchase's credits until it is decided.

    Its closing may have arrived first (events come in any order): then it stays decided, and
    this changes nothing.
    """
    _dispute_changed(dispute, event_id=event_id, event_type=event_type, closed=False)


@transaction.atomic
def dispute_closed(*, dispute: dict, event_id: str, event_type: str) -> None:
    """Won: the held credits are free again. Lost: they are taken back (the money went back).
    An inquiry closed (warning_closed): its hold is released, and a later chargeback still
    counts. Once a chargeback is decided, no later dispute of the payment holds anything."""
    _dispute_changed(dispute, event_id=event_id, event_type=event_type, closed=True)


def _dispute_changed(dispute: dict, *, event_id: str, event_type: str, closed: bool) -> None:
    purchase = _purchase_for_charge(dispute)
    if purchase is None:
        _invoice_money_back(dispute, event_id=event_id, event_type=event_type)
        return
    purchase_state.record_payment_intent(purchase, dispute.get("payment_intent"))
    disputed = dispute.get("amount")
    purchase_state.record_dispute(
        purchase,
        dispute["id"],
        dispute.get("status") or "",
        closed=closed,
        amount=None if disputed is None else from_minor_units(disputed, purchase.currency),
    )
    purchase_state.settle(purchase, event_id=event_id, event_type=event_type)


def _invoice_money_back(charge_or_dispute: dict, *, event_id: str, event_type: str) -> None:
    """A refund or dispute of a subscription invoice's charge, found by its payment intent. One
    naming no invoice's payment we know is kept as unmatched: it is applied when an invoice's
    payment naming its intent arrives (invoice_payment.paid, or an invoice.paid listing it)."""
    what = charge_or_dispute.get("object") or "charge"
    payment_intent = selectors.stripe_id(charge_or_dispute.get("payment_intent"))
    invoice = (
        SubscriptionInvoice.objects.select_for_update()
        .filter(stripe_payment_intent_id=payment_intent)
        .first()
        if payment_intent
        else None
    )
    if invoice is None:
        later = f" (payment intent {payment_intent}: applied if an invoice's payment names it)"
        reason = f"no purchase or invoice for this {what}{later if payment_intent else ''}"
        unmatched(event_id=event_id, event_type=event_type, reason=reason)
        return
    invoice_state.record(invoice, event_type, charge_or_dispute)
    invoice_state.catch_up(invoice)
    invoice_state.settle(invoice)
