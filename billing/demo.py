"""Demo catalogue and billing history for `manage.py seed_demo`, with made-up Stripe ids.

Every purchase is made as a real one is: a pending purchase opened by the checkout service (with
its promo code reserved), then paid through the code the webhooks call, fed with Stripe-shaped
objects; the subscription likewise (its checkout, then its paid invoice). So My purchases, My
subscription and the dashboard show what real payments produce, and agree.
"""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from billing.models import CreditPackage, Promotion
from billing.services import checkout, checkout_events, subscription_events
from billing.stripe_api import to_minor_units

PACKS = [
    ("Starter", 500, "5.00", "A first taste: enough for a few small jobs."),
    ("Standard", 1200, "10.00", "The pack most people buy."),
    ("Studio", 5000, "35.00", "For teams that run jobs every day."),
]
PLANS = [
    ("Monthly", 1000, "8.00", "month", CreditPackage.Rollover.CAPPED, 500),
    # A dearer monthly plan, so the demo's customers can upgrade and downgrade (analytics/demo).
    ("Pro", 3000, "20.00", "month", CreditPackage.Rollover.NONE, None),
    ("Yearly", 15000, "80.00", "year", CreditPackage.Rollover.ALL, None),
]


def seed(stdout) -> None:
    if CreditPackage.objects.exists():
        stdout.write("Demo billing: already there, left unchanged.")
        return
    packs = [_pack(order, *pack) for order, pack in enumerate(PACKS)]
    plans = [_plan(order, *plan) for order, plan in enumerate(PLANS)]
    welcome = Promotion.objects.create(
        code="WELCOME20", kind=Promotion.Kind.BONUS_PERCENT, value=20, credit_lifetime_days=30
    )
    Promotion.objects.create(code="FREE100", kind=Promotion.Kind.FREE_GRANT, value=100)
    alice = User.objects.filter(email="alice@creditdesk.test").first()
    bob = User.objects.filter(email="bob@creditdesk.test").first()
    if alice:
        _paid_purchase(alice, packs[0], name="starter")
        _paid_purchase(alice, packs[1], name="standard", promo_code=welcome.code)
    if bob:
        _subscription(bob, plans[0])
    stdout.write(
        "Demo billing: 3 packs, 3 plans, codes WELCOME20 (+20% on a pack) and FREE100 (100 free "
        "credits); alice bought Starter, then Standard with WELCOME20; bob subscribes to Monthly."
    )


def _pack(order: int, name: str, credits: int, price: str, description: str) -> CreditPackage:
    return CreditPackage.objects.create(
        name=name,
        credits=credits,
        price=Decimal(price),
        description=description,
        display_order=order,
        stripe_product_id=f"prod_demo_{name.lower()}",
        stripe_price_id=f"price_demo_{name.lower()}",
        stripe_price_amount=Decimal(price),
        stripe_price_currency="usd",
    )


def _plan(order, name, credits, price, interval, rollover, cap) -> CreditPackage:
    return CreditPackage.objects.create(
        name=name,
        kind=CreditPackage.Kind.PLAN,
        credits=credits,
        price=Decimal(price),
        interval=interval,
        rollover=rollover,
        rollover_cap=cap,
        display_order=order,
        stripe_product_id=f"prod_demo_{name.lower()}",
        stripe_price_id=f"price_demo_{name.lower()}",
        stripe_price_amount=Decimal(price),
        stripe_price_currency="usd",
        stripe_price_interval=interval,
    )


def _paid_purchase(user: User, package: CreditPackage, *, name: str, promo_code: str = ""):
    purchase = checkout.open_purchase(user=user, package=package, promo_code=promo_code)
    session = {
        "id": f"cs_demo_{user.pk}_{name}",
        "mode": "payment",
        "payment_status": "paid",
        "payment_intent": f"pi_demo_{user.pk}_{name}",
        "amount_total": to_minor_units(purchase.amount, purchase.currency),
        "metadata": {"purchase_id": str(purchase.pk)},
    }
    checkout_events.checkout_completed(
        session=session, event_id=f"evt_demo_{user.pk}_{name}", event_type="demo"
    )


def _subscription(user: User, plan: CreditPackage) -> None:
    purchase = checkout.open_purchase(user=user, package=plan, promo_code="")
    session = {
        "id": f"cs_demo_{user.pk}_plan",
        "mode": "subscription",
        "subscription": f"sub_demo_{user.pk}",
        "metadata": {"purchase_id": str(purchase.pk)},
    }
    checkout_events.checkout_completed(
        session=session, event_id=f"evt_demo_{user.pk}_plan", event_type="demo"
    )
    start = timezone.now().replace(microsecond=0) - timedelta(days=3)
    end = start + timedelta(days=30)
    invoice = {
        "id": f"in_demo_{user.pk}",
        "amount_paid": to_minor_units(plan.price, plan.currency),
        "currency": "usd",
        "parent": {
            "subscription_details": {
                "subscription": f"sub_demo_{user.pk}",
                "metadata": {"user_id": str(user.pk), "package_id": str(plan.pk)},
            }
        },
        "lines": {
            "data": [{"period": {"start": int(start.timestamp()), "end": int(end.timestamp())}}]
        },
    }
    subscription_events.invoice_paid(
        invoice=invoice, event_id="evt_demo_invoice", event_type="demo"
    )
