import json
import time
from decimal import Decimal

import pytest
import stripe
from django.test import Client
from django.urls import reverse
from djstripe.models import WebhookEndpoint

from billing.models import CreditPackage, Promotion, Purchase
from billing.testing import FakeStripe, event, own_stripe_account, sign, stripe_list
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def _ledger_stays_consistent(ledger_reconciles):
    """Every billing scenario leaves a ledger that reconciles: whatever Stripe sent, in whatever
    order, no credit was made or lost."""


SECRET_KEY = "sk_test_" + "a1" * 12
WEBHOOK_SECRET = "whsec_test_secret"


@pytest.fixture
def stripe_keys(settings):
    settings.STRIPE_SECRET_KEY = SECRET_KEY
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def fake_stripe(db, stripe_keys, monkeypatch):
    fake = FakeStripe()
    monkeypatch.setattr(stripe, "default_http_client", fake)
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    own_stripe_account(secret_key=SECRET_KEY)
    return fake


@pytest.fixture
def endpoint(db):
    return WebhookEndpoint.objects.create(
        id="we_test",
        url="https://credits.example.com/stripe/webhook/",
        secret=WEBHOOK_SECRET,
        enabled_events=["*"],
        status="enabled",
        livemode=False,
    )


class Webhooks:
    """Posts signed events to dj-stripe's real webhook view."""

    def __init__(self, endpoint, fake):
        self.endpoint = endpoint
        self.fake = fake
        self.client = Client(raise_request_exception=False)

    def url(self, uuid=None):
        uuid = uuid or self.endpoint.djstripe_uuid
        return reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": uuid})

    def post(self, payload: dict, *, secret: str = WEBHOOK_SECRET, signed: bool = True, **kw):
        body = json.dumps(payload)
        headers = {"HTTP_STRIPE_SIGNATURE": sign(body, secret)} if signed else {}
        return self.client.post(
            kw.get("url") or self.url(), body, content_type="application/json", **headers
        )

    def send(self, event_type: str, obj: dict, **options):
        """Put the object in the fake (dj-stripe fetches it again) and post its event."""
        self.fake.add(obj)
        for item in (obj.get("items") or {}).get("data") or []:
            product = item["price"]["product"]
            # A price's product is a required foreign key: dj-stripe fetches it.
            self.fake.objects.setdefault(
                product, {"id": product, "object": "product", "name": product, "active": True}
            )
        response = self.post(event(event_type, obj, **options))
        assert response.status_code == 200, response.content
        return response


@pytest.fixture
def webhooks(endpoint, fake_stripe):
    return Webhooks(endpoint, fake_stripe)


@pytest.fixture
def buyer(fake_stripe):
    """A user who is already a Stripe customer (as after their first checkout)."""
    return make_buyer(fake_stripe)


def make_buyer(fake_stripe):
    from djstripe.models import Customer

    user = UserFactory()
    customer = {"id": customer_id(user), "object": "customer", "email": user.email}
    fake_stripe.add(customer)
    Customer.sync_from_stripe_data(customer)
    Customer.objects.filter(id=customer["id"]).update(subscriber=user)
    return user


def customer_id(user) -> str:
    return f"cus_{user.pk}"


def make_pack(**fields) -> CreditPackage:
    values = {
        "name": "Standard",
        "credits": 1000,
        "price": Decimal("10.00"),
        "stripe_product_id": "prod_standard",
        "stripe_price_id": "price_standard",
        "stripe_price_amount": Decimal("10.00"),
        "stripe_price_currency": "usd",
    }
    values.update(fields)
    return CreditPackage.objects.create(**values)


def make_plan(**fields) -> CreditPackage:
    values = {
        "name": "Monthly",
        "kind": CreditPackage.Kind.PLAN,
        "interval": "month",
        "credits": 500,
        "price": Decimal("8.00"),
        "stripe_product_id": "prod_monthly",
        "stripe_price_id": "price_monthly",
        "stripe_price_amount": Decimal("8.00"),
        "stripe_price_currency": "usd",
        "stripe_price_interval": "month",
    }
    values.update(fields)
    return CreditPackage.objects.create(**values)


def make_promotion(**fields) -> Promotion:
    values = {"code": "SPRING", "kind": Promotion.Kind.BONUS_FIXED, "value": 200}
    values.update(fields)
    return Promotion.objects.create(**values)


def pending_purchase(user, package, *, bonus: int = 0, promotion=None, number: int = 1):
    purchase = Purchase.objects.create(
        user=user,
        package=package,
        promotion=promotion,
        amount=package.price,
        currency=package.currency,
        credits=package.credits,
        bonus_credits=bonus,
        stripe_checkout_session_id=f"cs_for_{package.pk}_{user.pk}_{time.monotonic_ns()}",
    )
    if promotion is not None:
        promotion.redemptions.create(
            user=user, purchase=purchase, number=number, credits=bonus, status="reserved"
        )
    return purchase


def session_object(purchase, **fields) -> dict:
    session = {
        "id": purchase.stripe_checkout_session_id,
        "object": "checkout.session",
        "mode": "payment",
        "status": "complete",
        "payment_status": "paid",
        "customer": customer_id(purchase.user),
        "payment_intent": f"pi_for_{purchase.pk}",
        "amount_total": int(purchase.amount * 100),
        "currency": purchase.currency,
        "client_reference_id": str(purchase.user_id),
        "metadata": {"purchase_id": str(purchase.pk), "package_id": str(purchase.package_id)},
        "livemode": False,
        "created": int(time.time()),
    }
    session.update(fields)
    return session


def charge_object(purchase, *, refunded: int = 0, **fields) -> dict:
    charge_id = f"ch_for_{purchase.pk}"
    charge = {
        "id": charge_id,
        "object": "charge",
        "amount": int(purchase.amount * 100),
        "amount_refunded": refunded,
        "refunded": refunded >= int(purchase.amount * 100),
        "currency": purchase.currency,
        "customer": customer_id(purchase.user),
        "payment_intent": purchase.stripe_payment_intent_id,
        "status": "succeeded",
        "paid": True,
        "captured": True,
        "receipt_url": f"https://pay.stripe.test/receipts/{charge_id}",
        "refunds": stripe_list([], f"/v1/charges/{charge_id}/refunds"),
        "livemode": False,
        "created": int(time.time()),
        "metadata": {},
    }
    charge.update(fields)
    return charge


def payment_intent_object(purchase) -> dict:
    return {
        "id": purchase.stripe_payment_intent_id,
        "object": "payment_intent",
        "amount": int(purchase.amount * 100),
        "amount_received": int(purchase.amount * 100),
        "currency": purchase.currency,
        "customer": customer_id(purchase.user),
        "status": "succeeded",
        "payment_method_types": ["card"],
        "capture_method": "automatic",
        "confirmation_method": "automatic",
        "livemode": False,
        "created": int(time.time()),
        "metadata": {"purchase_id": str(purchase.pk)},
    }


def dispute_object(purchase, *, status: str = "needs_response", **fields) -> dict:
    dispute = {
        "id": f"dp_for_{purchase.pk}",
        "object": "dispute",
        "amount": int(purchase.amount * 100),
        "currency": purchase.currency,
        "charge": f"ch_for_{purchase.pk}",
        "payment_intent": purchase.stripe_payment_intent_id,
        "status": status,
        "reason": "fraudulent",
        "balance_transactions": [],
        "livemode": False,
        "created": int(time.time()),
        "metadata": {},
    }
    dispute.update(fields)
    return dispute


def invoice_object(user, plan, *, invoice_id: str, subscription_id: str, start: int, end: int):
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": customer_id(user),
        "status": "paid",
        "amount_paid": int(plan.price * 100),
        "amount_due": int(plan.price * 100),
        "currency": plan.currency,
        "billing_reason": "subscription_cycle",
        "parent": {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": subscription_id,
                "metadata": {"user_id": str(user.pk), "package_id": str(plan.pk)},
            },
        },
        "lines": stripe_list(
            [
                {
                    "id": f"il_{invoice_id}",
                    "object": "line_item",
                    "amount": int(plan.price * 100),
                    "currency": plan.currency,
                    "period": {"start": start, "end": end},
                    "pricing": {
                        "type": "price_details",
                        "price_details": {
                            "price": plan.stripe_price_id,
                            "product": plan.stripe_product_id,
                        },
                    },
                }
            ],
            f"/v1/invoices/{invoice_id}/lines",
        ),
        "livemode": False,
        "created": start,
        "metadata": {},
    }


def invoice_payment_object(invoice_id: str, *, payment_intent: str = "", amount: int = 800):
    """An invoice's payment (invoice_payment.paid): the only object that ties the invoice to the
    payment intent that paid it, in the pinned API version."""
    return {
        "id": f"inpay_for_{invoice_id}",
        "object": "invoice_payment",
        "amount_paid": amount,
        "amount_requested": amount,
        "currency": "usd",
        "invoice": invoice_id,
        "is_default": True,
        "payment": {
            "type": "payment_intent",
            "payment_intent": payment_intent or f"pi_for_{invoice_id}",
        },
        "status": "paid",
        "status_transitions": {"paid_at": int(time.time()), "canceled_at": None},
        "livemode": False,
        "created": int(time.time()),
    }


def invoice_charge_object(user, invoice_id: str, *, amount: int = 800, refunded: int = 0) -> dict:
    """The charge that paid a subscription invoice, as the pinned API version sends it: it names
    no invoice (basil removed `invoice`), only the payment intent the invoice's payment names,
    which no purchase has."""
    charge_id = f"ch_for_{invoice_id}"
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_refunded": refunded,
        "refunded": refunded >= amount,
        "currency": "usd",
        "customer": customer_id(user),
        "payment_intent": f"pi_for_{invoice_id}",
        "status": "succeeded",
        "paid": True,
        "captured": True,
        "refunds": stripe_list([], f"/v1/charges/{charge_id}/refunds"),
        "livemode": False,
        "created": int(time.time()),
        "metadata": {},
    }


def invoice_dispute_object(invoice_id: str, *, status: str = "needs_response", **fields) -> dict:
    """A dispute of an invoice's charge: it names the charge and its payment intent, not the
    invoice."""
    return {
        "id": f"dp_for_{invoice_id}",
        "object": "dispute",
        "amount": 800,
        "currency": "usd",
        "charge": f"ch_for_{invoice_id}",
        "payment_intent": f"pi_for_{invoice_id}",
        "status": status,
        "reason": "fraudulent",
        "balance_transactions": [],
        "livemode": False,
        "created": int(time.time()),
        "metadata": {},
        **fields,
    }


def subscription_object(
    user, plan, *, subscription_id: str, status: str = "active", now: int | None = None, **fields
):
    now = now or int(time.time())
    subscription = {
        "id": subscription_id,
        "object": "subscription",
        "customer": customer_id(user),
        "status": status,
        "cancel_at_period_end": False,
        "metadata": {"user_id": str(user.pk), "package_id": str(plan.pk)},
        "items": stripe_list(
            [
                {
                    "id": f"si_{subscription_id}",
                    "object": "subscription_item",
                    "subscription": subscription_id,
                    "price": {
                        "id": plan.stripe_price_id,
                        "object": "price",
                        "product": plan.stripe_product_id,
                        "currency": plan.currency,
                        "unit_amount": int(plan.price * 100),
                        "recurring": {"interval": plan.interval},
                        "active": True,
                        "type": "recurring",
                    },
                    "quantity": 1,
                    "current_period_start": now,
                    "current_period_end": now + 30 * 86400,
                }
            ],
            f"/v1/subscription_items?subscription={subscription_id}",
        ),
        "livemode": False,
        "created": now,
    }
    subscription.update(fields)
    return subscription
