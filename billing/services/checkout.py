"""Buying: a pending purchase and a Stripe Checkout Session; the billing portal.

Nothing here grants credits: the signed webhook does (`billing.services.checkout_events`).
"""

from contextlib import suppress
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse

from billing import stripe_api
from billing.errors import BillingError
from billing.models import CreditPackage, Purchase, Subscription
from billing.services.promotions import find_promotion, reserve
from core import figures


@dataclass(frozen=True)
class Checkout:
    purchase: Purchase
    url: str


def live_subscription(user) -> Subscription | None:
    return user.subscriptions.filter(status__in=Subscription.LIVE_STATUSES).first()


def start_checkout(*, user, package_id: int, promo_code: str = "", base_url: str) -> Checkout:
    """Create a pending purchase for a pack or plan and the Stripe Checkout Session to pay it.

    For a pack, the purchase (and the promo code's reserved use) is committed first, so the
    Stripe call never runs inside a lock; a plan's checkout runs under a per-user lock (see
    below). If Stripe refuses, the purchase is marked failed and the code released.
    """
    if not stripe_api.configured():
        raise BillingError("Payments are not configured on this site yet.")
    package = CreditPackage.objects.filter(pk=package_id, is_active=True).first()
    if package is None:
        raise BillingError("That package is not for sale.")
    if not package.stripe_price_id:
        raise BillingError(f"{package.name} cannot be bought yet: it is not set up with Stripe.")
    if package.is_plan and live_subscription(user) is not None:
        raise BillingError(
            "You already have a subscription. Change plan with “Manage billing” on your "
            "subscription page."
        )
    if package.is_plan and promo_code.strip():
        raise BillingError("Promo codes apply to packs, not subscriptions.")
    if not package.is_plan:
        return _checkout(user=user, package=package, promo_code=promo_code, base_url=base_url)
    # One plan checkout at a time per user: the user's row stays locked while old plan checkouts
    # are closed and the new one is opened, so two Subscribe clicks cannot both open a session.
    # The Stripe calls run under this per-user lock on purpose (only that user's requests wait).
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
        try:
            _close_open_plan_checkouts(user)
            return _checkout(user=user, package=package, promo_code=promo_code, base_url=base_url)
        except BillingError as error:
            refusal = error  # raised once what was done (purchases closed or failed) commits
    raise refusal


def _checkout(*, user, package: CreditPackage, promo_code: str, base_url: str) -> Checkout:
    purchase = open_purchase(user=user, package=package, promo_code=promo_code)
    customer = stripe_api.customer_for(user)
    try:
        session = stripe_api.create_checkout_session(
            idempotency_key=f"checkout-purchase-{purchase.pk}",
            **_session_params(purchase, customer.id, base_url),
        )
    except BillingError:
        _abandon(purchase, status=Purchase.Status.FAILED)
        raise
    purchase.stripe_checkout_session_id = session["id"]
    purchase.save(update_fields=["stripe_checkout_session_id"])
    return Checkout(purchase=purchase, url=session["url"])


@transaction.atomic
def open_purchase(*, user, package: CreditPackage, promo_code: str) -> Purchase:
    """A pending purchase of the package, with the promo code's use reserved: what a checkout
    pays (and the demo's purchases, which are then paid through the webhooks' code)."""
    promotion = find_promotion(promo_code, lock=True) if promo_code.strip() else None
    purchase = Purchase.objects.create(
        user=user,
        package=package,
        promotion=promotion,
        amount=package.price,
        currency=package.currency,
        credits=package.credits,
    )
    if promotion is not None:
        redemption = reserve(promotion=promotion, user=user, package=package, purchase=purchase)
        purchase.bonus_credits = redemption.credits
        purchase.save(update_fields=["bonus_credits"])
    return purchase


def _session_params(purchase: Purchase, customer_id: str, base_url: str) -> dict:
    package = purchase.package
    metadata = {
        "purchase_id": str(purchase.pk),
        "package_id": str(package.pk),
        "user_id": str(purchase.user_id),
    }
    params = {
        "mode": "subscription" if package.is_plan else "payment",
        "customer": customer_id,
        "client_reference_id": str(purchase.user_id),
        "line_items": [{"price": package.stripe_price_id, "quantity": 1}],
        "metadata": metadata,
        "success_url": base_url + reverse("billing:success") + "?session_id={CHECKOUT_SESSION_ID}",
        "cancel_url": base_url + reverse("billing:cancel") + f"?purchase={purchase.pk}",
    }
    # Copied onto the PaymentIntent or the Subscription, so refunds, disputes and invoices
    # can be traced back to the purchase and the user.
    if package.is_plan:
        params["subscription_data"] = {"metadata": metadata}
    else:
        params["payment_intent_data"] = {"metadata": metadata}
    return params


@transaction.atomic
def _abandon(purchase: Purchase, *, status: str) -> None:
    purchase = Purchase.objects.select_for_update().get(pk=purchase.pk)
    if purchase.status != Purchase.Status.PENDING:
        return
    purchase.status = status
    purchase.save(update_fields=["status"])
    redemption = getattr(purchase, "redemption", None)
    if redemption is not None and redemption.status == redemption.Status.RESERVED:
        redemption.status = redemption.Status.RELEASED
        redemption.save(update_fields=["status"])


def cancel_checkout(*, user, purchase_id: str) -> Purchase | None:
    """The buyer came back without paying: close the Checkout Session and free the promo code.

    If Stripe will not expire the session (it was paid meanwhile, in another tab), the purchase is
    left to the webhook.
    """
    if not str(purchase_id).isdecimal():
        return None
    purchase = Purchase.objects.filter(
        user=user, pk=purchase_id, status=Purchase.Status.PENDING
    ).first()
    if purchase is None:
        return None
    with suppress(BillingError):  # Stripe unreachable: the session expires by itself later
        _close_checkout(purchase)
    return purchase


def _close_open_plan_checkouts(user) -> None:
    """One subscription per user: a plan checkout left open (another tab, an abandoned page) is
    closed at Stripe before a new one starts, so two subscriptions can never both be paid."""
    pending = Purchase.objects.filter(
        user=user, package__kind=CreditPackage.Kind.PLAN, status=Purchase.Status.PENDING
    )
    for purchase in pending:
        if not _close_checkout(purchase):
            raise BillingError(
                "Your subscription is being set up: its payment went through and its credits "
                "arrive in a moment."
            )


def _close_checkout(purchase: Purchase) -> bool:
    """Expire the purchase's Checkout Session and mark it abandoned; False if it was paid
    meanwhile (in another tab): the webhook then settles the purchase.

    When Stripe will not expire it, the session says why: already expired (it is abandoned as
    well) or complete (paid); anything else (Stripe unreachable, say) raises BillingError.
    """
    session_id = purchase.stripe_checkout_session_id
    if session_id:
        try:
            stripe_api.expire_checkout_session(session_id)
        except BillingError:
            status = _session_status(session_id)
            if status == "complete":
                return False
            if status != "expired":
                raise BillingError(
                    "Could not close your earlier checkout: Stripe could not be reached. "
                    "Try again in a moment."
                ) from None
    _abandon(purchase, status=Purchase.Status.EXPIRED)
    return True


def _session_status(session_id: str) -> str:
    try:
        return stripe_api.retrieve_checkout_session(session_id).get("status") or ""
    except BillingError:
        return ""


@dataclass(frozen=True)
class CheckoutStatus:
    done: bool
    message: str
    # The page's heading: thanks only once there is a payment to thank for.
    heading: str = "Confirming your payment"


def checkout_status(*, user, session_id: str) -> CheckoutStatus:
    """Whether the credits of a checkout have arrived (the success page polls this)."""
    purchase = Purchase.objects.filter(user=user, stripe_checkout_session_id=session_id).first()
    if purchase is None:
        return CheckoutStatus(
            done=True, message="We could not find this payment.", heading="Payment not found"
        )
    if purchase.status in (Purchase.Status.FAILED, Purchase.Status.EXPIRED):
        return CheckoutStatus(
            done=True,
            message="The payment did not go through; nothing was charged.",
            heading="Payment not completed",
        )
    if purchase.package.is_plan:
        subscription = live_subscription(user)
        if subscription is not None and subscription.invoices.exists():
            credits = figures.credits(subscription.invoices.first().credits)
            return CheckoutStatus(
                done=True,
                message=f"Your subscription is active: {credits} credits have arrived.",
                heading="Thank you",
            )
        return CheckoutStatus(done=False, message="Confirming your payment with Stripe…")
    if purchase.status == Purchase.Status.PENDING:
        return CheckoutStatus(done=False, message="Confirming your payment with Stripe…")
    credits = figures.credits(purchase.total_credits)
    return CheckoutStatus(
        done=True, message=f"Payment received: {credits} credits have arrived.", heading="Thank you"
    )


def open_portal(*, user, return_url: str) -> str:
    """The URL of Stripe's customer portal for this user (invoices, plan changes, cancelling)."""
    if not stripe_api.configured():
        raise BillingError("Payments are not configured on this site yet.")
    customer = stripe_api.customer_for(user)
    session = stripe_api.create_portal_session(customer_id=customer.id, return_url=return_url)
    return session["url"]
