"""Checkout Sessions' events: a paid pack grants its credits once per session; a subscription's
checkout marks the purchase paid (its credits come with the invoice); an expired or failed
session frees its promo code.

Safe to run again and in any order (see billing.webhooks).
"""

from django.db import transaction
from django.utils import timezone

from billing.models import Purchase, Redemption
from billing.services import purchase_state
from billing.services.events import unmatched
from billing.services.subscription_events import subscription_row

PAID = ("paid", "no_payment_required")
# A purchase not paid yet (a refund or dispute that arrived first leaves it so); an abandoned
# checkout that Stripe says was paid all the same is paid.
PAYABLE = (Purchase.Status.PENDING, Purchase.Status.EXPIRED)


def _purchase_for_session(session: dict) -> Purchase | None:
    metadata = session.get("metadata") or {}
    found = Purchase.objects.select_for_update().filter(stripe_checkout_session_id=session["id"])
    purchase = found.first()
    if purchase is None and str(metadata.get("purchase_id", "")).isdecimal():
        purchase = Purchase.objects.select_for_update().filter(pk=metadata["purchase_id"]).first()
    return purchase


# --- Checkout ---------------------------------------------------------------------------------


@transaction.atomic
def checkout_completed(*, session: dict, event_id: str, event_type: str) -> None:
    """A Checkout Session finished: a paid pack grants its credits, once per session, less any
    refund or dispute of the payment that arrived before (see purchase_state)."""
    purchase = _purchase_for_session(session)
    if purchase is None:
        unmatched(event_id=event_id, event_type=event_type, reason="no purchase for this session")
        return
    if session.get("mode") == "subscription":
        _subscription_checkout(purchase, session)
        return
    purchase_state.record_payment_intent(purchase, session.get("payment_intent"))
    newly_paid = False
    if session.get("payment_status") in PAID and purchase.status in PAYABLE:
        newly_paid = purchase_state.record_payment(purchase, session)
    # else paid already, or a delayed payment method: async_payment_succeeded will follow
    purchase_state.settle(purchase, event_id=event_id, event_type=event_type, newly_paid=newly_paid)


def _subscription_checkout(purchase: Purchase, session: dict) -> None:
    """A subscription's checkout: the purchase is paid; the credits come with invoice.paid."""
    if purchase.status == Purchase.Status.PENDING:
        purchase.status = Purchase.Status.PAID
        purchase.paid_at = timezone.now()
        purchase.save(update_fields=["status", "paid_at"])
    if session.get("subscription"):
        subscription_row(
            stripe_id=session["subscription"], user_id=purchase.user_id, package=purchase.package
        )


@transaction.atomic
def checkout_not_paid(*, session: dict, status: str) -> None:
    """The session expired or its delayed payment failed: nothing was paid, the code is freed."""
    purchase = _purchase_for_session(session)
    if purchase is None or purchase.status != Purchase.Status.PENDING:
        return
    purchase.status = status
    purchase.save(update_fields=["status"])
    Redemption.objects.filter(purchase=purchase, status=Redemption.Status.RESERVED).update(
        status=Redemption.Status.RELEASED
    )
