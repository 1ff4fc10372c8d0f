"""What billing reads: the pages' purchases, a purchase's credit blocks."""

from django.db.models import OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KT
from djstripe.models import Charge, PaymentIntent

from billing.models import Purchase, SubscriptionInvoice
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
