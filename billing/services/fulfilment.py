"""What Stripe's signed webhooks do to purchases, subscriptions and credits.

Each function takes the event's object (a plain dict from the payload, in the pinned API
version) and is safe to run again, in any order: every grant is keyed on its business object
(session, invoice, refund amount, dispute) so a redelivery, or the same object under a new
event id, changes nothing.
"""

import logging
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing.models import (
    CreditPackage,
    Purchase,
    Redemption,
    Subscription,
    SubscriptionInvoice,
    UnmatchedStripeEvent,
)
from billing.services.promotions import BILLING, expiry_for
from billing.stripe_api import from_minor_units, to_minor_units
from credits import services as credits
from credits.errors import CreditRefusal
from credits.models import CreditGrant, CreditTransaction, Hold
from credits.services import Reference

logger = logging.getLogger(__name__)

PAID = ("paid", "no_payment_required")


def _timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _grant(*, event_id: str, event_type: str, **options) -> None:
    """Grant through the ledger; a refusal (a suspended wallet) is kept for staff, not retried.

    The money was taken, so the event must not fail (Stripe would retry for days); staff see
    why the credits did not arrive and grant them once the wallet is active again.
    """
    try:
        credits.grant(actor=BILLING, **options)
    except CreditRefusal as refusal:
        unmatched(
            event_id=event_id,
            event_type=event_type,
            reason=f"credits not granted ({options['description']}): {refusal.message}",
        )


def unmatched(*, event_id: str, event_type: str, reason: str) -> None:
    """Keep, for staff, an event that names no purchase or user we know: no credits move."""
    logger.warning("stripe event %s (%s) not applied: %s", event_id, event_type, reason)
    UnmatchedStripeEvent.objects.get_or_create(
        stripe_event_id=event_id, defaults={"event_type": event_type, "reason": reason}
    )


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
    _grant(
        event_id=event_id,
        event_type=event_type,
        wallet=purchase.user.wallet,
        amount=purchase.credits,
        source=CreditGrant.Source.PURCHASE,
        cost_basis=(purchase.amount / purchase.credits).quantize(Decimal("0.00000001")),
        currency=purchase.currency,
        description=f"{package.name}: {purchase.credits} credits",
        reference=reference,
        idempotency_key=f"checkout:{session['id']}",
    )
    redemption = getattr(purchase, "redemption", None)
    if redemption is not None:
        redemption.status = Redemption.Status.USED
        redemption.save(update_fields=["status"])
    if purchase.bonus_credits:
        _grant(
            event_id=event_id,
            event_type=event_type,
            wallet=purchase.user.wallet,
            amount=purchase.bonus_credits,
            source=CreditGrant.Source.PROMOTION,
            expires_at=expiry_for(purchase.promotion),
            description=f"Promo code {purchase.promotion.code}: bonus credits",
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
        _subscription_row(
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


# --- Subscriptions ----------------------------------------------------------------------------


def _subscription_row(*, stripe_id: str, user_id: int, package: CreditPackage) -> Subscription:
    subscription, _ = Subscription.objects.select_for_update().get_or_create(
        stripe_subscription_id=stripe_id,
        defaults={"user_id": user_id, "package": package, "status": "active"},
    )
    return subscription


def _metadata_package(metadata: dict) -> CreditPackage | None:
    package_id = str(metadata.get("package_id", ""))
    if not package_id.isdecimal():
        return None
    return CreditPackage.objects.filter(pk=package_id, kind=CreditPackage.Kind.PLAN).first()


@transaction.atomic
def invoice_paid(*, invoice: dict, event_id: str, event_type: str) -> None:
    """A subscription invoice was paid: grant the period's credits, once per invoice.

    The subscription, its metadata and the period are read where the pinned API version puts
    them (invoice.parent.subscription_details, the subscription line's period), so this works
    even before the subscription's own events have arrived.
    """
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    stripe_subscription = details.get("subscription") or invoice.get("subscription")
    if not stripe_subscription:
        return  # not a subscription invoice
    subscription = (
        Subscription.objects.select_for_update()
        .filter(stripe_subscription_id=stripe_subscription)
        .first()
    )
    if subscription is None:
        metadata = details.get("metadata") or {}
        package = _metadata_package(metadata)
        if package is None or not str(metadata.get("user_id", "")).isdecimal():
            unmatched(
                event_id=event_id, event_type=event_type, reason="subscription without our metadata"
            )
            return
        subscription = _subscription_row(
            stripe_id=stripe_subscription, user_id=int(metadata["user_id"]), package=package
        )
    if SubscriptionInvoice.objects.filter(stripe_invoice_id=invoice["id"]).exists():
        return
    period_start, period_end = _invoice_period(invoice)
    ended_at = _ended_at(subscription)
    if ended_at is not None and period_start is not None and period_start >= ended_at:
        unmatched(
            event_id=event_id,
            event_type=event_type,
            reason=f"invoice {invoice['id']} is for a period after the subscription ended "
            f"({ended_at:%Y-%m-%d %H:%M} UTC): no credits granted",
        )
        return
    expires_at = period_end
    now = timezone.now()
    if period_end is not None and period_end <= now:
        # Paid all the same (a retry that succeeded late, an event reprocessed late): the
        # credits are granted, living a grace period from now; staff are told.
        expires_at = now + timedelta(days=settings.BILLING_LATE_INVOICE_GRACE_DAYS)
        unmatched(
            event_id=event_id,
            event_type=event_type,
            reason=f"invoice {invoice['id']} arrived after its period already ended "
            f"({period_end:%Y-%m-%d %H:%M} UTC): its credits were granted late, expiring "
            f"{expires_at:%Y-%m-%d %H:%M} UTC",
        )
    package = subscription.package
    previous, rollover = _roll_over(subscription, package, before=period_start)
    record = SubscriptionInvoice.objects.create(
        subscription=subscription,
        stripe_invoice_id=invoice["id"],
        amount=from_minor_units(invoice.get("amount_paid") or 0, invoice.get("currency") or "usd"),
        currency=invoice.get("currency") or package.currency,
        period_start=period_start,
        period_end=period_end,
        credits=package.credits,
        rollover_credits=rollover,
        rolled_over_from=previous if rollover else None,
    )
    wallet = subscription.user.wallet
    reference = Reference(text=f"Stripe invoice {invoice['id']}", obj=record)
    _grant(
        event_id=event_id,
        event_type=event_type,
        wallet=wallet,
        amount=package.credits,
        source=CreditGrant.Source.SUBSCRIPTION,
        expires_at=expires_at,
        cost_basis=(package.price / package.credits).quantize(Decimal("0.00000001")),
        currency=package.currency,
        description=f"{package.name}: {package.credits} credits for this period",
        reference=reference,
        idempotency_key=f"invoice:{invoice['id']}",
    )
    if rollover:
        _grant(
            event_id=event_id,
            event_type=event_type,
            wallet=wallet,
            amount=rollover,
            source=CreditGrant.Source.SUBSCRIPTION,
            expires_at=expires_at,
            description=f"{package.name}: {rollover} unused credits rolled over",
            reference=reference,
            idempotency_key=f"invoice:{invoice['id']}:rollover",
        )
    if subscription.current_period_end is None or subscription.current_period_end < period_end:
        subscription.current_period_start, subscription.current_period_end = (
            period_start,
            period_end,
        )
        subscription.save(update_fields=["current_period_start", "current_period_end"])


def _ended_at(subscription: Subscription) -> datetime | None:
    """When the subscription ended (for one cancelled before ended_at was recorded: when its
    cancellation was applied)."""
    if subscription.ended_at is None and subscription.status == "canceled":
        return subscription.last_event_created
    return subscription.ended_at


def _invoice_period(invoice: dict) -> tuple[datetime, datetime]:
    """The period the invoice pays for: its subscription line's period (dahlia puts it there)."""
    for line in (invoice.get("lines") or {}).get("data") or []:
        period = line.get("period") or {}
        if period.get("start") and period.get("end"):
            return _timestamp(period["start"]), _timestamp(period["end"])
    return _timestamp(invoice.get("period_start")), _timestamp(invoice.get("period_end"))


def _roll_over(
    subscription: Subscription, package: CreditPackage, *, before: datetime
) -> tuple[SubscriptionInvoice | None, int]:
    """The previous period, and how many of its unused credits the plan's rule carries on.

    The previous period's grants end where this period starts: whatever the rule, they are
    expired now, so the balance is right at once; what they lost is what went unused. A period
    rolls over once (see rolled_over_from).
    """
    previous = (
        subscription.invoices.filter(period_start__lt=before).order_by("-period_start").first()
    )
    if previous is None:
        return None, 0
    grants = CreditGrant.objects.filter(
        transaction__reference_type__model="subscriptioninvoice",
        transaction__reference_id=str(previous.pk),
        transaction__kind=CreditTransaction.Kind.GRANT,
    )
    for grant in grants.filter(remaining__gt=0):
        credits.expire(grant=grant, actor=BILLING)
    rolled_already = SubscriptionInvoice.objects.filter(rolled_over_from=previous).exists()
    if package.rollover == CreditPackage.Rollover.NONE or rolled_already:
        return None, 0
    unused = sum(grant.expired_amount for grant in grants.all())
    if package.rollover == CreditPackage.Rollover.CAPPED:
        unused = min(unused, package.rollover_cap or 0)
    return previous, unused


@transaction.atomic
def subscription_changed(
    *, subscription: dict, event_created: datetime | None, event_id: str, event_type: str
) -> None:
    """Keep our subscription's status, plan and period in step; an older event changes nothing.
    A subscription that names no plan and user of ours (made in Stripe's dashboard, say) is kept
    for staff."""
    row = (
        Subscription.objects.select_for_update()
        .filter(stripe_subscription_id=subscription["id"])
        .first()
    )
    created = event_created or timezone.now()
    if row is None:
        metadata = subscription.get("metadata") or {}
        package = _metadata_package(metadata)
        if package is None or not str(metadata.get("user_id", "")).isdecimal():
            unmatched(
                event_id=event_id,
                event_type=event_type,
                reason=f"subscription {subscription['id']} names no plan and user of ours",
            )
            return
        row = _subscription_row(
            stripe_id=subscription["id"], user_id=int(metadata["user_id"]), package=package
        )
    if row.last_event_created is not None and created < row.last_event_created:
        return
    items = (subscription.get("items") or {}).get("data") or []
    if items:
        price_id = (items[0].get("price") or {}).get("id")
        package = CreditPackage.objects.filter(stripe_price_id=price_id).first()
        if package is not None:
            row.package = package
        start, end = items[0].get("current_period_start"), items[0].get("current_period_end")
        if start and end:
            row.current_period_start, row.current_period_end = _timestamp(start), _timestamp(end)
    row.status = subscription.get("status") or row.status
    # canceled_at alone is a cancellation asked for (it may end at the period's end), not done.
    ended = subscription.get("ended_at") or (
        subscription.get("canceled_at") if row.status == "canceled" else None
    )
    row.ended_at = _timestamp(ended)
    row.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    row.last_event_created = created
    row.save()


# --- Money coming back ------------------------------------------------------------------------


def _purchase_for_charge(charge_or_dispute: dict) -> Purchase | None:
    payment_intent = charge_or_dispute.get("payment_intent")
    purchases = Purchase.objects.select_for_update()
    if payment_intent:
        found = purchases.filter(stripe_payment_intent_id=payment_intent).first()
        if found:
            return found
    metadata = charge_or_dispute.get("metadata") or {}
    if str(metadata.get("purchase_id", "")).isdecimal():
        return purchases.filter(pk=metadata["purchase_id"]).first()
    return None


def _purchase_grants(purchase: Purchase) -> list[CreditGrant]:
    """The purchase's credit blocks: the paid grant first, then any promotional bonus."""
    return list(
        CreditGrant.objects.filter(
            transaction__reference_type__model="purchase",
            transaction__reference_id=str(purchase.pk),
            transaction__kind=CreditTransaction.Kind.GRANT,
        ).order_by("is_promotional", "id")
    )


@transaction.atomic
def charge_refunded(*, charge: dict, event_id: str, event_type: str) -> None:
    """Money went back to the buyer: take back the refunded share of the purchase's credits.

    Never more than the purchase's grants still hold; what is missing (already spent) is
    recorded on the purchase as a shortfall for staff. Keyed on the cumulative refunded amount,
    so each refund is applied once. Stripe's amount_refunded only grows, but its events may
    arrive out of order: an older, smaller amount arriving late changes nothing.
    """
    purchase = _purchase_for_charge(charge)
    if purchase is None:
        unmatched(event_id=event_id, event_type=event_type, reason="no purchase for this charge")
        return
    amount = charge.get("amount") or 0
    refunded = max(
        charge.get("amount_refunded") or 0,
        to_minor_units(purchase.refunded_amount, purchase.currency),
    )
    if not amount or not refunded:
        return
    purchase.stripe_charge_id = charge.get("id", "")
    purchase.receipt_url = charge.get("receipt_url") or purchase.receipt_url
    purchase.refunded_amount = from_minor_units(refunded, purchase.currency)
    if purchase.status != Purchase.Status.DISPUTED:  # else the dispute's closing does this
        _claw_back_refunds(purchase)
        purchase.status = _status_after_refunds(purchase)
    purchase.save()


def _claw_back_refunds(purchase: Purchase) -> None:
    """Take back the refunded share of the purchase's credits not taken back yet.

    Not while a dispute holds them (held credits cannot be revoked): its closing calls this.
    """
    if not purchase.refunded_amount:
        return
    share = min(purchase.refunded_amount / purchase.amount, Decimal(1))
    due = (
        int(purchase.total_credits * share)
        - purchase.clawed_back_credits
        - purchase.clawback_shortfall
    )
    if due > 0:
        refunded = to_minor_units(purchase.refunded_amount, purchase.currency)
        taken = _claw_back(purchase, due, key=f"refund:{purchase.stripe_charge_id}:{refunded}")
        purchase.clawed_back_credits += taken
        purchase.clawback_shortfall += due - taken


def _status_after_refunds(purchase: Purchase) -> str:
    """A paid purchase's status from the money that went back to the buyer."""
    if purchase.dispute_outcome == "lost":
        return Purchase.Status.REFUNDED  # the bank took all of it back
    if purchase.refunded_amount >= purchase.amount:
        return Purchase.Status.REFUNDED
    if purchase.refunded_amount > 0:
        return Purchase.Status.PARTIALLY_REFUNDED
    return Purchase.Status.PAID


def _claw_back(purchase: Purchase, credit_count: int, *, key: str) -> int:
    """Revoke up to `credit_count` from the purchase's grants (paid first); how many it took."""
    taken = 0
    for grant in _purchase_grants(purchase):
        if taken == credit_count:
            break
        try:
            txn = credits.revoke(
                grant=grant,
                amount=credit_count - taken,
                reason=f"Money returned for purchase #{purchase.pk}",
                reference=Reference(text=key, obj=purchase),
                actor=BILLING,
                idempotency_key=f"{key}:grant:{grant.pk}",
            )
        except CreditRefusal:
            txn = None  # a suspended wallet: what could not be taken is the shortfall
        taken += txn.amount if txn else 0
    return taken


# How Stripe leaves a dispute it closed. An inquiry (a "warning") that never became a chargeback
# closes as warning_closed: no money moved, and a real chargeback (a new dispute) may follow.
DISPUTE_CLOSED = ("won", "lost", "warning_closed")
# A chargeback's decision is final: a payment is charged back once, after any inquiries.
DISPUTE_FINAL = ("won", "lost")


def _dispute_settled(purchase: Purchase, dispute: dict) -> bool:
    """Whether this dispute's event can change nothing more: the dispute itself was decided,
    or the payment's chargeback was (won or lost)."""
    return (
        dispute["id"] in purchase.decided_dispute_ids or purchase.dispute_outcome in DISPUTE_FINAL
    )


def _open_dispute_hold(purchase: Purchase) -> Hold | None:
    """The hold a dispute keeps on the purchase's credits, if still open (its reference is the
    dispute's id)."""
    return Hold.objects.filter(pk=purchase.dispute_hold_id, status=Hold.Status.OPEN).first()


def _release_dispute_hold(hold: Hold) -> None:
    # A suspended wallet refuses the release: the hold stays until staff reactivate it.
    with suppress(CreditRefusal):
        credits.release(
            hold=hold, actor=BILLING, idempotency_key=f"dispute:{hold.reference}:release"
        )


@transaction.atomic
def dispute_opened(*, dispute: dict, event_id: str, event_type: str) -> None:
    """A chargeback or inquiry: hold what is left of the purchase's credits until it is decided.

    Its closing may have arrived first (events come in any order): then it was applied, and
    this changes nothing. A chargeback opened after an inquiry holds the credits anew.
    """
    purchase = _purchase_for_charge(dispute)
    if purchase is None:
        unmatched(event_id=event_id, event_type=event_type, reason="no purchase for this dispute")
        return
    if _dispute_settled(purchase, dispute):
        return
    if dispute.get("status") in DISPUTE_CLOSED:
        _close_dispute(purchase, dispute)
        return
    hold = _open_dispute_hold(purchase)
    if hold is None or hold.reference != dispute["id"]:
        if hold is not None:  # an earlier inquiry's hold: this dispute holds the credits now
            _release_dispute_hold(hold)
        grants = _purchase_grants(purchase)
        txn = None
        if grants:
            try:
                txn = credits.hold_grants(
                    grants=grants,
                    description=f"Payment disputed (Stripe dispute {dispute['id']})",
                    reference=Reference(text=dispute["id"], obj=purchase),
                    actor=BILLING,
                    idempotency_key=f"dispute:{dispute['id']}:hold",
                )
            except CreditRefusal:
                txn = None  # a suspended wallet moves nothing anyway
        purchase.dispute_hold = txn.hold if txn else None
    purchase.status = Purchase.Status.DISPUTED
    purchase.save(update_fields=["status", "dispute_hold"])


@transaction.atomic
def dispute_closed(*, dispute: dict, event_id: str, event_type: str) -> None:
    """Won: the held credits are free again. Lost: they are taken back (the money went back).
    An inquiry closed (warning_closed): its hold is released, and a later chargeback still
    counts.

    Applied once per dispute, whether or not the dispute's opening arrived before it; the
    decided disputes are kept on the purchase so a late opening holds nothing.
    """
    purchase = _purchase_for_charge(dispute)
    if purchase is None:
        unmatched(event_id=event_id, event_type=event_type, reason="no purchase for this dispute")
        return
    if _dispute_settled(purchase, dispute):
        return
    _close_dispute(purchase, dispute)


def _close_dispute(purchase: Purchase, dispute: dict) -> None:
    outcome = dispute.get("status") or ""
    final = outcome in DISPUTE_FINAL
    purchase.decided_dispute_ids = [*purchase.decided_dispute_ids, dispute["id"]]
    purchase.dispute_outcome = outcome
    hold = _open_dispute_hold(purchase)
    if hold is not None and not final and hold.reference != dispute["id"]:
        # An inquiry closed while a later dispute holds the credits: that one settles them.
        purchase.save()
        return
    if hold is not None:
        _release_dispute_hold(hold)
    if outcome == "lost":
        due = purchase.total_credits - purchase.clawed_back_credits - purchase.clawback_shortfall
        taken = _claw_back(purchase, due, key=f"dispute:{dispute['id']}:lost") if due > 0 else 0
        purchase.clawed_back_credits += taken
        purchase.clawback_shortfall += due - taken
    else:
        _claw_back_refunds(purchase)  # any refund that arrived while the credits were held
    purchase.status = _status_after_refunds(purchase)  # won: what it was before the dispute
    purchase.save()
