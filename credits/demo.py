"""Demo ledger for `manage.py seed_demo`: a staff grant, spends, a refund, a hold, a transfer and
credits that expire soon, each asked by whoever would really ask (the user, a staff member).

It runs after the shop's demo (`SEED_AFTER`): the credits spent here were bought there, through
the same fulfilment as a Stripe webhook; and after the jobs' and the partner app's demos, so
their holds and charges do not take the block that expires soon.
"""

from datetime import timedelta

from accounts.models import User
from credits import services
from credits.actors import Actor
from credits.models import CreditGrant, CreditTransaction
from credits.services import staff as staff_powers

# Jobs and the partner app charge bought credits, not the block that expires soon.
SEED_AFTER = ("billing", "jobs", "integrations")
DEMO = Actor.system("demo")
DEMO_USERS = ("alice@creditdesk.test", "bob@creditdesk.test")
Source = CreditGrant.Source


def seed(stdout) -> None:
    """Give the demo users a history, once: a wallet that has one is left as it is."""
    alice = User.objects.filter(email="alice@creditdesk.test").first()
    bob = User.objects.filter(email="bob@creditdesk.test").first()
    staff = User.objects.filter(email="admin@creditdesk.test").first()
    if alice is None or bob is None or staff is None:
        return
    if CreditTransaction.objects.filter(idempotency_record__key__startswith="demo:").exists():
        stdout.write("Demo ledger: already there, left unchanged.")
        return
    _seed_alice(alice, staff=staff)
    _seed_bob(bob, sender=alice)


def report(stdout) -> None:
    """What the ledger says once every app has seeded: the figures the dashboard shows."""
    for user in User.objects.filter(email__in=DEMO_USERS).select_related("wallet"):
        wallet = user.wallet
        stdout.write(
            f"Demo ledger: {user.email} has {wallet.balance:,} credits "
            f"({wallet.held:,} held, {wallet.available:,} available)."
        )


def _key(user: User, name: str) -> str:
    return f"demo:{user.pk}:{name}"


def _seed_alice(alice: User, *, staff: User) -> None:
    wallet, joined, herself = alice.wallet, alice.date_joined, Actor.for_user(alice)
    staff_powers.staff_grant(
        wallet=wallet,
        amount=500,
        promotional=False,
        expires_at=joined + timedelta(days=30),
        reason="Loyalty grant from staff: 500 credits",
        staff=staff,
        idempotency_key=_key(alice, "staff-grant"),
    )
    services.spend(
        wallet=wallet,
        amount=150,
        description="Logo design",
        actor=herself,
        idempotency_key=_key(alice, "spend-logo"),
    )
    api_calls = services.spend(
        wallet=wallet,
        amount=75,
        description="Translation API: 75 calls",
        actor=herself,
        idempotency_key=_key(alice, "spend-api"),
    )
    services.refund(
        transaction=api_calls,
        amount=25,
        description="25 calls failed: refunded",
        actor=Actor.for_staff(staff),
        idempotency_key=_key(alice, "refund-api"),
    )
    services.hold(
        wallet=wallet,
        amount=300,
        description="Website copy job (in progress)",
        expires_at=joined + timedelta(days=14),
        actor=herself,
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
    services.transfer(
        sender=sender.wallet,
        receiver=bob.wallet,
        amount=100,
        description="Thanks for the help",
        actor=Actor.for_user(sender),
        idempotency_key=_key(bob, "transfer-in"),
    )
    services.spend(
        wallet=bob.wallet,
        amount=40,
        description="Image upscaling",
        actor=Actor.for_user(bob),
        idempotency_key=_key(bob, "spend"),
    )
