"""Opening wallets and changing their status (freeze, unfreeze, suspend)."""

from django.db import transaction

from credits.actors import Actor
from credits.errors import InvalidRequest
from credits.models import StaffAction, Wallet, WalletStatusChange
from credits.services.audit import record_staff_action
from credits.services.locks import lock_wallets
from credits.services.rules import MAY_RECEIVE, check_text
from events.outbox import announce


def open_wallet(*, user) -> Wallet:
    """The user's wallet, created if the user has none yet (every user has exactly one)."""
    wallet, _ = Wallet.objects.get_or_create(user=user, defaults={"kind": Wallet.Kind.USER})
    return wallet


Status = Wallet.Status

# The moves staff may make. A suspension is lifted only by reactivating, never by a freeze or
# an unfreeze, so it cannot be loosened by mistake.
TRANSITIONS = {
    (Status.ACTIVE, Status.FROZEN),
    (Status.FROZEN, Status.ACTIVE),
    (Status.ACTIVE, Status.SUSPENDED),
    (Status.FROZEN, Status.SUSPENDED),
    (Status.SUSPENDED, Status.ACTIVE),
}
# How each move reads in the staff audit trail.
STAFF_ACTIONS = {
    (Status.ACTIVE, Status.FROZEN): StaffAction.Kind.FREEZE,
    (Status.FROZEN, Status.ACTIVE): StaffAction.Kind.UNFREEZE,
    (Status.ACTIVE, Status.SUSPENDED): StaffAction.Kind.SUSPEND,
    (Status.FROZEN, Status.SUSPENDED): StaffAction.Kind.SUSPEND,
    (Status.SUSPENDED, Status.ACTIVE): StaffAction.Kind.REACTIVATE,
}


def staff_operations_open(wallet: Wallet) -> list[str]:
    """The staff operations that can apply to `wallet` as it stands, in the order the admin
    offers them: a grant reaches an active or frozen wallet, a deduction needs credits to take,
    a status change must be one of the moves staff may make (TRANSITIONS); unfreeze is for a
    frozen wallet, reactivate for a suspended one."""
    status = wallet.status
    open_to = {
        "grant": status in MAY_RECEIVE,
        "deduct": status in MAY_RECEIVE and wallet.available > 0,
        "freeze": (status, Status.FROZEN) in TRANSITIONS,
        "unfreeze": status == Status.FROZEN and (status, Status.ACTIVE) in TRANSITIONS,
        "suspend": (status, Status.SUSPENDED) in TRANSITIONS,
        "reactivate": status == Status.SUSPENDED and (status, Status.ACTIVE) in TRANSITIONS,
    }
    return [name for name, applies in open_to.items() if applies]


@transaction.atomic
def change_status(*, wallet: Wallet, status: str, reason: str, actor: Actor) -> WalletStatusChange:
    """Set a wallet's credit status, recording who did it and why.

    Frozen wallets may receive credits but not spend, hold or transfer them; suspended wallets
    move nothing at all.
    """
    reason = check_text(reason, what="A reason", required=True, limit=2000)
    if status not in Status.values:
        raise InvalidRequest(f"Unknown wallet status {status!r}.")
    actor.refuse_own_wallet(wallet)
    (locked,) = lock_wallets(wallet.pk)
    if locked.status == status:
        raise InvalidRequest(f"This wallet is already {status}.")
    if (locked.status, status) not in TRANSITIONS:
        raise InvalidRequest(
            f"A {locked.status} wallet cannot become {status}: reactivate it first."
        )
    change = WalletStatusChange.objects.create(
        wallet=locked,
        from_status=locked.status,
        to_status=status,
        reason=reason,
        actor_user_id=actor.user_id,
        actor_label=actor.label[:100],
    )
    Wallet.objects.filter(pk=locked.pk).update(status=status)
    announce(
        "wallet.status_changed",
        data={
            "user_id": locked.user_id,
            "status": status,
            "previous_status": locked.status,
            "reason": reason,
            "changed_at": change.created_at,
        },
        user_id=locked.user_id,
        occurred_at=change.created_at,
    )
    if actor.kind == "staff":
        record_staff_action(
            staff_id=actor.user_id,
            kind=STAFF_ACTIONS[(locked.status, status)],
            wallet=locked,
            reason=reason,
            reference=change,
        )
    wallet.status = status
    return change


def freeze(*, wallet: Wallet, reason: str, actor: Actor) -> WalletStatusChange:
    return change_status(wallet=wallet, status=Wallet.Status.FROZEN, reason=reason, actor=actor)


def unfreeze(*, wallet: Wallet, reason: str, actor: Actor) -> WalletStatusChange:
    if Wallet.objects.filter(pk=wallet.pk, status=Status.SUSPENDED).exists():
        raise InvalidRequest("This wallet is suspended, not frozen: reactivate it instead.")
    return change_status(wallet=wallet, status=Wallet.Status.ACTIVE, reason=reason, actor=actor)


def reactivate(*, wallet: Wallet, reason: str, actor: Actor) -> WalletStatusChange:
    """Lift a suspension."""
    if not Wallet.objects.filter(pk=wallet.pk, status=Status.SUSPENDED).exists():
        raise InvalidRequest("Only a suspended wallet can be reactivated.")
    return change_status(wallet=wallet, status=Wallet.Status.ACTIVE, reason=reason, actor=actor)


def suspend(*, wallet: Wallet, reason: str, actor: Actor) -> WalletStatusChange:
    return change_status(wallet=wallet, status=Wallet.Status.SUSPENDED, reason=reason, actor=actor)
