"""What billing announces (events.outbox): a pack paid for, a refund, a subscription renewed.

Each is announced in the transaction that records it, once per fact: `purchase.paid` when the
pack's credits are granted (the first time the payment is recorded, whatever Stripe redelivers),
`purchase.refunded` each time the refunded amount grows, `subscription.renewed` when an
invoice's period credits are granted (once per invoice). Payloads: docs/events.md.
"""

from django.utils import timezone

from billing.models import Purchase, SubscriptionInvoice
from events.outbox import announce


def purchase_paid(purchase: Purchase) -> None:
    announce(
        "purchase.paid",
        data={
            "purchase_id": purchase.pk,
            "package": purchase.package.name,
            "credits": purchase.credits,
            "bonus_credits": purchase.bonus_credits,
            "amount": str(purchase.amount),
            "currency": purchase.currency,
            "paid_at": purchase.paid_at,
        },
        user_id=purchase.user_id,
        occurred_at=purchase.paid_at,
    )


def purchase_refunded(purchase: Purchase) -> None:
    """The refunded amount grew: how much has gone back in all, and the credits taken back."""
    refunded_at = timezone.now()
    announce(
        "purchase.refunded",
        data={
            "purchase_id": purchase.pk,
            "package": purchase.package.name,
            "refunded_amount": str(purchase.refunded_amount),
            "currency": purchase.currency,
            "credits_taken_back": purchase.clawed_back_credits,
            "refunded_at": refunded_at,
        },
        user_id=purchase.user_id,
        occurred_at=refunded_at,
    )


def subscription_renewed(invoice: SubscriptionInvoice, plan_name: str) -> None:
    subscription = invoice.subscription
    announce(
        "subscription.renewed",
        data={
            "subscription_id": subscription.pk,
            "plan": plan_name,
            "credits": invoice.credits,
            "amount": str(invoice.amount),
            "currency": invoice.currency,
            "period_start": invoice.period_start,
            "period_end": invoice.period_end,
        },
        user_id=subscription.user_id,
    )
