"""Every call billing makes to Stripe, in one place (tests answer them with a fake HTTP client).

Credits are never granted from these calls' answers: only signed webhooks do that.
"""

from decimal import Decimal

import stripe
from django.conf import settings
from djstripe.models import Customer

from billing.errors import BillingError

# Currencies Stripe counts in whole units (no cents): https://docs.stripe.com/currencies
ZERO_DECIMAL_CURRENCIES = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
}  # fmt: skip


def configured() -> bool:
    """Whether payments can be taken: without a secret key the shop only shows the packages."""
    return bool(settings.STRIPE_SECRET_KEY)


def to_minor_units(amount: Decimal, currency: str) -> int:
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return int(amount)
    return int((amount * 100).to_integral_value())


def from_minor_units(amount: int, currency: str) -> Decimal:
    if currency.lower() in ZERO_DECIMAL_CURRENCIES:
        return Decimal(amount)
    return (Decimal(amount) / 100).quantize(Decimal("0.01"))


def _options() -> dict:
    return {"api_key": settings.STRIPE_SECRET_KEY, "stripe_version": settings.STRIPE_API_VERSION}


def _call(action: str, function, **params):
    """Call Stripe; any failure becomes one BillingError a person can read."""
    try:
        return function(**_options(), **params)
    except stripe.APIConnectionError as error:
        raise BillingError(
            f"Could not {action}: Stripe could not be reached. Try again."
        ) from error
    except stripe.StripeError as error:
        message = (getattr(error, "user_message", None) or "Stripe refused the request").rstrip(".")
        raise BillingError(f"Could not {action}: {message}.") from error


def customer_for(user) -> Customer:
    """The user's Stripe customer, created once (dj-stripe links it to the user)."""
    try:
        customer, _ = Customer.get_or_create(subscriber=user)
    except stripe.StripeError as error:
        raise BillingError("Could not reach Stripe to set up your customer record.") from error
    return customer


def create_checkout_session(*, idempotency_key: str, **params):
    return _call(
        "start the checkout",
        stripe.checkout.Session.create,
        idempotency_key=idempotency_key,
        **params,
    )


def expire_checkout_session(session_id: str):
    return _call("close the checkout", stripe.checkout.Session.expire, session=session_id)


def retrieve_checkout_session(session_id: str):
    return _call("check the checkout", stripe.checkout.Session.retrieve, id=session_id)


def create_portal_session(*, customer_id: str, return_url: str):
    return _call(
        "open the billing portal",
        stripe.billing_portal.Session.create,
        customer=customer_id,
        return_url=return_url,
    )


def create_refund(*, payment_intent: str, amount: int, idempotency_key: str, metadata: dict):
    return _call(
        "refund the payment",
        stripe.Refund.create,
        payment_intent=payment_intent,
        amount=amount,
        metadata=metadata,
        idempotency_key=idempotency_key,
    )


def create_product(*, idempotency_key: str, **params):
    return _call(
        "create the product", stripe.Product.create, idempotency_key=idempotency_key, **params
    )


def modify_product(product_id: str, **params):
    return _call("update the product", stripe.Product.modify, id=product_id, **params)


def create_price(*, idempotency_key: str, **params):
    return _call("create the price", stripe.Price.create, idempotency_key=idempotency_key, **params)


def archive_price(price_id: str):
    return _call("archive the old price", stripe.Price.modify, id=price_id, active=False)
