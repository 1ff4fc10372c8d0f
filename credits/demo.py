"""Demo ledger for `manage.py seed_demo`: grants of every kind, spends, a hold, a refund."""

from datetime import timedelta
from decimal import Decimal

from accounts.models import User
from credits import services
from credits.actors import Actor
from credits.models import CreditGrant, CreditTransaction

DEMO = Actor.system("demo")
Source = CreditGrant.Source


def seed(stdout) -> None:
    """Give the demo users a history, once: a wallet that has one is left as it is."""
    alice = User.objects.filter(email="alice@creditdesk.test").first()
    bob = User.objects.filter(email="bob@creditdesk.test").first()
    if alice is None or bob is None:
        return
    if CreditTransaction.objects.filter(actor_label=DEMO.label).exists():
        stdout.write("Demo ledger: already there, left unchanged.")
        return
    _seed_alice(alice)
    _seed_bob(bob, sender=alice)
    for user in (alice, bob):
        user.wallet.refresh_from_db()
        wallet = user.wallet
        stdout.write(
            f"Demo ledger: {user.email} has {wallet.balance} credits "
            f"({wallet.held} held, {wallet.available} available)."
        )


def _key(user: User, name: str) -> str:
    return f"demo:{user.pk}:{name}"


def _seed_alice(alice: User) -> None:
    wallet, joined = alice.wallet, alice.date_joined
    usd_cent = Decimal("0.01")
    services.grant(
        wallet=wallet,
        amount=1000,
        source=Source.PURCHASE,
        cost_basis=usd_cent,
        currency="usd",
        description="Credit purchase: 1,000 credits",
        actor=DEMO,
        idempotency_key=_key(alice, "purchase"),
    )
    services.grant(
        wallet=wallet,
        amount=500,
        source=Source.ADMIN,
        is_promotional=False,
        expires_at=joined + timedelta(days=30),
        description="Loyalty grant from staff: 500 credits",
        actor=DEMO,
        idempotency_key=_key(alice, "subscription"),
    )
    services.spend(
        wallet=wallet,
        amount=150,
        description="Logo design",
        actor=DEMO,
        idempotency_key=_key(alice, "spend-logo"),
    )
    api_calls = services.spend(
        wallet=wallet,
        amount=75,
        description="Translation API: 75 calls",
        actor=DEMO,
        idempotency_key=_key(alice, "spend-api"),
    )
    services.refund(
        transaction=api_calls,
        amount=25,
        description="25 calls failed: refunded",
        actor=DEMO,
        idempotency_key=_key(alice, "refund-api"),
    )
    services.hold(
        wallet=wallet,
        amount=300,
        description="Website copy job (in progress)",
        expires_at=joined + timedelta(days=14),
        actor=DEMO,
        idempotency_key=_key(alice, "hold-job"),
    )

    # Last, so nothing above spends it: the block that expires soon, for the dashboard.
    services.grant(
        wallet=wallet,
        amount=200,
        source=Source.PROMOTION,
        expires_at=joined + timedelta(days=5),
        description="Welcome bonus (expires soon)",
        actor=DEMO,
        idempotency_key=_key(alice, "promotion"),
    )


def _seed_bob(bob: User, *, sender: User) -> None:
    services.grant(
        wallet=bob.wallet,
        amount=300,
        source=Source.PURCHASE,
        cost_basis=Decimal("0.01"),
        currency="usd",
        description="Credit purchase: 300 credits",
        actor=DEMO,
        idempotency_key=_key(bob, "purchase"),
    )
    services.transfer(
        sender=sender.wallet,
        receiver=bob.wallet,
        amount=100,
        description="Thanks for the help",
        actor=DEMO,
        idempotency_key=_key(bob, "transfer-in"),
    )
    services.spend(
        wallet=bob.wallet,
        amount=40,
        description="Image upscaling",
        actor=DEMO,
        idempotency_key=_key(bob, "spend"),
    )
