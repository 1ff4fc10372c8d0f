"""Checkout Sessions' events: a paid pack grants its credits once per session; a subscription's
checkout marks the purchase paid (its credits come with the invoice); an expired or failed
session frees its promo code.

Safe to run again and in any order (see billing.webhooks).
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from billing.models import Purchase, Redemption
from billing.services.events import grant_for_event, unmatched
from billing.services.promotions import expiry_for
from billing.services.subscription_events import subscription_row
from billing.stripe_api import from_minor_units
from credits.models import CreditGrant
from credits.services import Reference

PAID = ("paid", "no_payment_required")
# The ledger keeps a cost basis to 8 places (CreditGrant.cost_basis).
COST_BASIS_PLACES = Decimal("0.00000001")


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
    """A Checkout Session finished: a paid pack grants its credits, once per session."""
    purchase = _purchase_for_session(session)
    if purchase is None:
        unmatched(event_id=event_id, event_type=event_type, reason="no purchase for this session")
        return
    if session.get("mode") == "subscription":
        _subscription_checkout(purchase, session)
        return
    if session.get("payment_status") not in PAID:
        return  # a delayed payment method: async_payment_succeeded will follow
    _fulfil_pack(purchase, session, event_id=event_id, event_type=event_type)


def _fulfil_pack(purchase: Purchase, session: dict, *, event_id: str, event_type: str) -> None:
    if purchase.status not in (Purchase.Status.PENDING, Purchase.Status.EXPIRED):
        return  # already paid (or later refunded): the grant happened once
    purchase.status = Purchase.Status.PAID
    purchase.paid_at = timezone.now()
    purchase.stripe_checkout_session_id = session["id"]
    purchase.stripe_payment_intent_id = session.get("payment_intent") or ""
    if session.get("amount_total") is not None:
        purchase.amount = from_minor_units(session["amount_total"], purchase.currency)
    purchase.save()
    reference = Reference(text=f"Stripe checkout {session['id']}", obj=purchase)
    package = purchase.package
    grant_for_event(
        event_id=event_id,
        event_type=event_type,
        wallet=purchase.user.wallet,
        amount=purchase.credits,
        source=CreditGrant.Source.PURCHASE,
        cost_basis=(purchase.amount / purchase.credits).quantize(COST_BASIS_PLACES),
        currency=purchase.currency,
        description=f"Purchase: {package.name} pack, {purchase.credits:,} credits",
        reference=reference,
        idempotency_key=f"checkout:{session['id']}",
    )
    redemption = getattr(purchase, "redemption", None)
    if redemption is not None:
        redemption.status = Redemption.Status.USED
        redemption.save(update_fields=["status"])
    if purchase.bonus_credits:
        grant_for_event(
            event_id=event_id,
            event_type=event_type,
            wallet=purchase.user.wallet,
            amount=purchase.bonus_credits,
            source=CreditGrant.Source.PROMOTION,
            expires_at=expiry_for(purchase.promotion),
            description=(
                f"Bonus: {purchase.bonus_credits:,} credits with code {purchase.promotion.code}"
            ),
            reference=reference,
            idempotency_key=f"checkout:{session['id']}:bonus",
        )


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
