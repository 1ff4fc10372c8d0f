"""Subscriptions' events: each paid invoice grants its period's credits once (with the plan's
rollover), and the subscription's status, plan and period follow Stripe's.

Safe to run again and in any order (see billing.webhooks).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from billing import selectors
from billing.models import CreditPackage, Subscription, SubscriptionInvoice
from billing.services import announcements, invoice_state
from billing.services.events import grant_for_event, timestamp, unmatched
from billing.services.promotions import BILLING
from billing.services.purchase_state import COST_BASIS_PLACES
from billing.stripe_api import from_minor_units
from credits import selectors as credit_selectors
from credits import services as credits
from credits.models import CreditGrant
from credits.services import Reference

# A rollover grant's key ends so: the analytics read it to tell credits carried on (not lost)
# from a new period's credits.
ROLLOVER_KEY_SUFFIX = ":rollover"


def subscription_row(*, stripe_id: str, user_id: int, package: CreditPackage) -> Subscription:
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


@dataclass(frozen=True)
class StripeEvent:
    """The event being applied, named in what staff are told."""

    id: str
    type: str

    def unmatched(self, reason: str) -> None:
        unmatched(event_id=self.id, event_type=self.type, reason=reason)


@transaction.atomic
def invoice_paid(*, invoice: dict, event_id: str, event_type: str) -> None:
    """A subscription invoice was paid: grant the period's credits, once per invoice.

    The subscription, its metadata and the period are read where the pinned API version puts
    them (invoice.parent.subscription_details, the subscription line's period), so this works
    even before the subscription's own events have arrived.
    """
    event = StripeEvent(event_id, event_type)
    subscription = _subscription_of(invoice, event)
    if subscription is None:
        return
    if SubscriptionInvoice.objects.filter(stripe_invoice_id=invoice["id"]).exists():
        return  # granted once already
    period_start, period_end = _invoice_period(invoice)
    if _after_the_end(subscription, invoice, period_start, event):
        return
    package = _invoice_package(invoice, subscription)
    record = _record_invoice(subscription, package, invoice, period_start, period_end)
    _grant_period(record, package, _credits_expiry(invoice, period_end, event), event)
    # A refund or dispute of its payment may have come first (kept then as unmatched).
    invoice_state.catch_up(record)
    invoice_state.settle(record)
    _advance_period(subscription, period_start, period_end)
    announcements.subscription_renewed(record, package.name)


@transaction.atomic
def invoice_payment_paid(*, invoice_payment: dict, event_id: str, event_type: str) -> None:
    """An invoice's payment was paid: it names the payment intent that paid the invoice, which
    is all that ties the charge's refunds and disputes to it (a charge no longer names its
    invoice). Recorded on our invoice, and what of that payment came before is applied; an
    invoice not recorded yet reads it from this event (dj-stripe keeps it) when it is paid."""
    stripe_invoice_id = selectors.stripe_id(invoice_payment.get("invoice"))
    invoice = (
        SubscriptionInvoice.objects.select_for_update()
        .filter(stripe_invoice_id=stripe_invoice_id)
        .first()
        if stripe_invoice_id
        else None
    )
    if invoice is None:
        return  # not paid yet (or not a subscription invoice of ours)
    if not invoice_state.learn_payment_intent(invoice, invoice_payment):
        StripeEvent(event_id, event_type).unmatched(
            f"invoice {stripe_invoice_id} was paid in more than one payment: the refunds and "
            f"disputes of this one ({invoice_payment.get('id', '')}) are not matched to it"
        )
        return
    invoice_state.catch_up(invoice)
    invoice_state.settle(invoice)


def _subscription_of(invoice: dict, event: StripeEvent) -> Subscription | None:
    """The invoice's subscription, locked (made from its metadata if its events are late);
    None for an invoice of no subscription, or of none of ours (kept for staff)."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    stripe_subscription = details.get("subscription") or invoice.get("subscription")
    if not stripe_subscription:
        return None  # not a subscription invoice
    subscription = (
        Subscription.objects.select_for_update()
        .filter(stripe_subscription_id=stripe_subscription)
        .first()
    )
    if subscription is not None:
        return subscription
    metadata = details.get("metadata") or {}
    package = _metadata_package(metadata)
    if package is None or not str(metadata.get("user_id", "")).isdecimal():
        event.unmatched("subscription without our metadata")
        return None
    return subscription_row(
        stripe_id=stripe_subscription, user_id=int(metadata["user_id"]), package=package
    )


def _after_the_end(subscription, invoice: dict, period_start, event: StripeEvent) -> bool:
    """An invoice for a period after the subscription ended grants nothing (staff are told)."""
    ended_at = _ended_at(subscription)
    if ended_at is None or period_start is None or period_start < ended_at:
        return False
    event.unmatched(
        f"invoice {invoice['id']} is for a period after the subscription ended "
        f"({ended_at:%Y-%m-%d %H:%M} UTC): no credits granted"
    )
    return True


def _credits_expiry(invoice: dict, period_end, event: StripeEvent):
    """The period's credits live to its end; an invoice paid after that (a retry that succeeded
    late, an event reprocessed late) still grants them, for a grace period, and staff are told."""
    now = timezone.now()
    if period_end is None or period_end > now:
        return period_end
    expires_at = now + timedelta(days=settings.BILLING_LATE_INVOICE_GRACE_DAYS)
    event.unmatched(
        f"invoice {invoice['id']} arrived after its period already ended "
        f"({period_end:%Y-%m-%d %H:%M} UTC): its credits were granted late, expiring "
        f"{expires_at:%Y-%m-%d %H:%M} UTC"
    )
    return expires_at


def _invoice_package(invoice: dict, subscription: Subscription) -> CreditPackage:
    """The plan the invoice paid for: its subscription line's price, not the subscription's plan
    now (a plan change may arrive before or after the invoice of the period before it); the
    subscription's plan when the line names no price of ours."""
    for line in (invoice.get("lines") or {}).get("data") or []:
        details = (line.get("pricing") or {}).get("price_details") or {}
        price_id = details.get("price") or (line.get("price") or {}).get("id")
        package = price_id and CreditPackage.objects.filter(stripe_price_id=price_id).first()
        if package:
            return package
    return subscription.package


def _record_invoice(
    subscription, package: CreditPackage, invoice: dict, period_start, period_end
) -> SubscriptionInvoice:
    """The invoice's row (the ledger's reference for its grants), with what rolls over into it."""
    previous, rollover = _roll_over(subscription, package, before=period_start)
    return SubscriptionInvoice.objects.create(
        subscription=subscription,
        stripe_invoice_id=invoice["id"],
        stripe_payment_intent_id=invoice_state.payment_intent_of(invoice),
        amount=from_minor_units(invoice.get("amount_paid") or 0, invoice.get("currency") or "usd"),
        currency=invoice.get("currency") or package.currency,
        period_start=period_start,
        period_end=period_end,
        credits=package.credits,
        rollover_credits=rollover,
        rolled_over_from=previous if rollover else None,
    )


def _grant_period(
    record: SubscriptionInvoice, package: CreditPackage, expires_at, event: StripeEvent
) -> None:
    """The period's credits, and the previous period's rolled-over ones, once per invoice."""
    common = {
        "event_id": event.id,
        "event_type": event.type,
        "wallet": record.subscription.user.wallet,
        "source": CreditGrant.Source.SUBSCRIPTION,
        "expires_at": expires_at,
        "reference": Reference(text=f"Stripe invoice {record.stripe_invoice_id}", obj=record),
    }
    grant_for_event(
        **common,
        amount=package.credits,
        cost_basis=_paid_per_credit(record),
        currency=package.currency,
        description=(
            f"Subscription: {package.name} plan, {package.credits:,} credits for "
            f"{record.period_start:%Y-%m-%d} to {record.period_end:%Y-%m-%d}"
        ),
        idempotency_key=f"invoice:{record.stripe_invoice_id}",
    )
    if record.rollover_credits:
        grant_for_event(
            **common,
            amount=record.rollover_credits,
            # Carried on at what they were paid: still owed, so still deferred revenue.
            cost_basis=_carried_per_credit(record.rolled_over_from),
            currency=record.rolled_over_from.currency,
            description=(
                f"Subscription: {package.name} plan, {record.rollover_credits:,} unused "
                "credits rolled over"
            ),
            idempotency_key=f"invoice:{record.stripe_invoice_id}{ROLLOVER_KEY_SUFFIX}",
        )


def _carried_per_credit(previous: SubscriptionInvoice) -> Decimal:
    """What the credits a period lost were paid, each on average: the period's own grant and any
    rollover it carried in, each at its own price (a plan changed in between has another), so
    carrying them on creates or loses no deferred revenue."""
    lost = credit_selectors.grants_from(previous).filter(expired_amount__gt=0)
    credits = value = Decimal(0)
    for grant in lost:
        credits += grant.expired_amount
        value += grant.expired_amount * (grant.cost_basis or _paid_per_credit(previous))
    if not credits:
        return _paid_per_credit(previous)
    return (value / credits).quantize(COST_BASIS_PLACES)


def _paid_per_credit(record: SubscriptionInvoice) -> Decimal:
    """What a period's credits cost the buyer each: the invoice as paid (a discount included),
    to the ledger's 8 places, as a pack's do."""
    return (record.amount / record.credits).quantize(COST_BASIS_PLACES)


def _advance_period(subscription: Subscription, period_start, period_end) -> None:
    """The subscription's current period is the latest one paid (invoices arrive in any order)."""
    if subscription.current_period_end is None or subscription.current_period_end < period_end:
        subscription.current_period_start = period_start
        subscription.current_period_end = period_end
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
            return timestamp(period["start"]), timestamp(period["end"])
    return timestamp(invoice.get("period_start")), timestamp(invoice.get("period_end"))


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
    grants = credit_selectors.grants_from(previous)
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
        row = subscription_row(
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
            row.current_period_start, row.current_period_end = timestamp(start), timestamp(end)
    row.status = subscription.get("status") or row.status
    # canceled_at alone is a cancellation asked for (it may end at the period's end), not done.
    ended = subscription.get("ended_at") or (
        subscription.get("canceled_at") if row.status == "canceled" else None
    )
    row.ended_at = timestamp(ended)
    row.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    row.last_event_created = created
    row.save()
