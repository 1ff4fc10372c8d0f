"""What billing reads: the pages' purchases, a purchase's credit blocks, what Stripe told us
of a payment."""

from datetime import datetime

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KT
from djstripe.models import Charge, Event, PaymentIntent

from billing.models import Purchase, SubscriptionInvoice, UnmatchedStripeEvent
from credits import selectors as credit_selectors
from credits.models import CreditGrant


def purchases_of(user) -> QuerySet[Purchase]:
    """The user's purchases, newest first, each with `receipt`: the Stripe receipt of its payment.

    dj-stripe keeps every charge Stripe sends us (charge.succeeded, charge.refunded), in whatever
    order they arrive, so the receipt is read from there instead of being copied onto the
    purchase by one more webhook handler; a purchase whose charge is not known falls back to the
    URL recorded with a refund."""
    charges = Charge.objects.filter(
        payment_intent_id=OuterRef("stripe_payment_intent_id")
    ).order_by("-created")
    return (
        user.purchases.select_related("package", "promotion")
        .annotate(charge_receipt=Subquery(charges.values(url=KT("stripe_data__receipt_url"))[:1]))
        .order_by("-created_at", "-pk")
    )


def purchase_id_of_payment_intent(payment_intent_id: str) -> str:
    """The purchase id our checkout put in a payment intent's metadata, as dj-stripe stored the
    intent (it fetches it with a charge or dispute): for an event that arrived before the
    checkout recorded the intent on the purchase. Empty when not known."""
    intent = PaymentIntent.objects.filter(id=payment_intent_id).only("metadata").first()
    metadata = (intent.metadata if intent else None) or {}
    return str(metadata.get("purchase_id", ""))


def paid_invoice_payment_intent(stripe_invoice_id: str) -> str:
    """The payment intent that paid an invoice, from an invoice_payment.paid event of it that
    dj-stripe stored (it may arrive before the invoice.paid): the first, oldest first. Empty
    when none has arrived."""
    intents = (
        Event.objects.filter(
            type="invoice_payment.paid",
            data__object__invoice=stripe_invoice_id,
            data__object__payment__type="payment_intent",
        )
        .order_by("created", "id")
        .values_list(KT("data__object__payment__payment_intent"), flat=True)
    )
    return next((intent for intent in intents if intent), "")


def stripe_id(value) -> str:
    """An object's id where Stripe may send the id or the expanded object."""
    if isinstance(value, dict):
        return str(value.get("id") or "")
    return str(value or "")


# The events of a charge's money coming back (they may be of a subscription invoice's charge).
MONEY_BACK_EVENTS = ("charge.refunded", "charge.dispute.created", "charge.dispute.closed")


def unmatched_money_back_of(payment_intent_id: str) -> list[tuple[str, dict, datetime]]:
    """The refunds and disputes of a payment that named nothing of ours when they arrived
    (Stripe orders nothing across objects: a charge may be refunded before its invoice's
    payment is known), oldest first: each event's type, its object as dj-stripe stored it, and
    when it arrived. A charge and a dispute both name their payment intent."""
    if not payment_intent_id:
        return []
    unmatched = UnmatchedStripeEvent.objects.filter(event_type__in=MONEY_BACK_EVENTS)
    arrived = unmatched.filter(stripe_event_id=OuterRef("id")).values("created_at")[:1]
    events = (
        # The few unmatched events first (by the primary key), then the intent they name.
        Event.objects.filter(
            id__in=unmatched.values("stripe_event_id"),
            data__object__payment_intent=payment_intent_id,
        )
        .annotate(arrived=Subquery(arrived))
        .order_by("arrived", "id")
        .only("id", "type", "data")
    )
    return [(event.type, event.data["object"], event.arrived) for event in events]


def subscription_invoices_of(user) -> QuerySet[SubscriptionInvoice]:
    """The user's paid subscription invoices, newest period first: what a plan bought."""
    return SubscriptionInvoice.objects.filter(subscription__user=user).select_related(
        "subscription__package"
    )


def purchase_grants(purchase: Purchase) -> list[CreditGrant]:
    """The purchase's credit blocks: the paid grant first, then any promotional bonus."""
    return list(credit_selectors.grants_from(purchase).order_by("is_promotional", "id"))


def pending_purchase(user, purchase_id: str) -> Purchase | None:
    """The user's checkout that `purchase_id` (from an address, so any text) names, if it is
    still waiting for payment."""
    if not str(purchase_id).isdecimal():
        return None
    return (
        user.purchases.select_related("package")
        .filter(pk=purchase_id, status=Purchase.Status.PENDING)
        .first()
    )
