"""Demo disputes for `manage.py seed_demo`: one open, one resolved with a refund, one rejected."""

from accounts.models import User
from credits import services as credits
from credits.actors import Actor
from credits.models import CreditTransaction
from disputes import services
from disputes.models import Dispute


def seed(stdout) -> None:
    alice = User.objects.filter(email="alice@creditdesk.test").first()
    staff = User.objects.filter(email="admin@creditdesk.test").first()
    if alice is None or staff is None:
        return
    if Dispute.objects.filter(user=alice).exists():
        stdout.write("Demo disputes: already there, left unchanged.")
        return
    spends = [
        credits.spend(
            wallet=alice.wallet,
            amount=amount,
            description=description,
            actor=Actor.for_user(alice),
            idempotency_key=f"demo:{alice.pk}:dispute-spend-{index}",
        )
        for index, (amount, description) in enumerate(
            [(40, "Voice-over (never delivered)"), (60, "Logo variants"), (25, "Batch render")]
        )
    ]
    _open(alice, spends[0], "not_delivered", "The voice-over never arrived.")
    resolved = _open(alice, spends[1], "poor_quality", "Half the variants were blank.")
    services.post_message(dispute=resolved, author=staff, body="Sorry about that; refunding.")
    services.resolve(dispute=resolved, staff=staff, amount=30, note="Refunded the blank half.")
    rejected = _open(alice, spends[2], "duplicate", "I think I was charged twice.")
    services.reject(
        dispute=rejected, staff=staff, reason="The two renders were separate jobs (#12 and #13)."
    )
    stdout.write("Demo disputes: alice has one open, one resolved with a refund, one rejected.")


def _open(user, txn: CreditTransaction, reason: str, description: str) -> Dispute:
    return services.open_dispute(
        user=user, txn=txn, reason=reason, description=description, amount=txn.amount
    )
