"""Staff refunds: the money goes back through Stripe; the credits follow its webhook."""

from decimal import Decimal

from billing import stripe_api
from billing.errors import BillingError
from billing.models import Purchase
from credits import services as credits
from credits.models import StaffAction

REFUNDABLE = (Purchase.Status.PAID, Purchase.Status.PARTIALLY_REFUNDED)


def refund_purchase(
    *, purchase: Purchase, amount: Decimal, reason: str, staff, idempotency_key: str
) -> None:
    """Ask Stripe to refund `amount` of a purchase; `charge.refunded` then claws the credits back.

    Nothing moves in the ledger here, so a refund Stripe declines changes no balance.
    """
    if not stripe_api.configured():
        raise BillingError(
            "Stripe is not configured (STRIPE_SECRET_KEY is empty): nothing to refund through."
        )
    if purchase.user_id == staff.pk:
        raise BillingError("Staff cannot refund their own purchase: ask a colleague.")
    if purchase.status not in REFUNDABLE:
        raise BillingError(
            f"A purchase that is {purchase.get_status_display().lower()} cannot be refunded."
        )
    if not purchase.stripe_payment_intent_id:
        raise BillingError("This purchase has no Stripe payment to refund.")
    left = purchase.amount - purchase.refunded_amount
    if amount <= 0 or amount > left:
        raise BillingError(
            f"The refund must be more than 0 and at most {left} {purchase.currency.upper()}."
        )
    # Recorded before asking Stripe: what staff asked is in the trail even if the call fails.
    credits.record_staff_action(
        staff_id=staff.pk,
        kind=StaffAction.Kind.PURCHASE_REFUND,
        wallet=purchase.user.wallet,
        reason=f"{amount} {purchase.currency.upper()} asked back from Stripe: {reason}",
        reference=purchase,
    )
    stripe_api.create_refund(
        payment_intent=purchase.stripe_payment_intent_id,
        amount=stripe_api.to_minor_units(amount, purchase.currency),
        metadata={"purchase_id": str(purchase.pk), "staff": staff.get_username(), "reason": reason},
        idempotency_key=f"refund-{purchase.pk}-{idempotency_key}",
    )
