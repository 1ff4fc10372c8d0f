"""Ending a user's account as the ledger allows: deactivate one with history, delete one without.

The ledger is append-only: a user whose wallet has entries (or who appears in purchases,
disputes, the staff audit trail…) cannot be deleted, or the history would point at nobody. Staff
deactivate such an account instead: sign-in off, API tokens revoked, the wallet suspended, the
reason in the staff audit trail. A user nothing refers to but an empty wallet may be deleted.

The staff-powers rules of the user admin hold here too: nobody acts on their own account, and
only a superuser on a staff account.
"""

from django.contrib.auth import get_user_model
from django.db import router, transaction
from django.db.models import ProtectedError, RestrictedError
from django.db.models.deletion import Collector

from accounts import services as accounts
from credits.actors import Actor
from credits.errors import InvalidRequest
from credits.models import StaffAction, Wallet
from credits.services.audit import record_staff_action
from credits.services.rules import check_text
from credits.services.wallets import change_status, open_wallet

User = get_user_model()


def check_power(user, staff) -> None:
    """Refuse what the staff-powers rules refuse: one's own account, or a staff account unless
    a superuser acts."""
    if user.pk == staff.pk:
        raise InvalidRequest("Nobody deactivates or deletes their own account: ask a colleague.")
    if (user.is_staff or user.is_superuser) and not staff.is_superuser:
        raise InvalidRequest("Only a superuser deactivates or deletes a staff account.")


@transaction.atomic
def deactivate_user(*, user, staff, reason: str) -> None:
    """Sign-in off (sessions end at their next request, API tokens are revoked), the wallet
    suspended, and the reason in the staff audit trail."""
    reason = check_text(reason, what="A reason", required=True, limit=2000)
    check_power(user, staff)
    actor = Actor.for_staff(staff)
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.is_active = False
    accounts.revoke_all_api_tokens(user=user)
    wallet = open_wallet(user=user)
    if wallet.status != Wallet.Status.SUSPENDED:
        change_status(
            wallet=wallet,
            status=Wallet.Status.SUSPENDED,
            reason=f"Account deactivated: {reason}",
            actor=actor,
        )
    record_staff_action(
        staff_id=staff.pk,
        kind=StaffAction.Kind.DEACTIVATE,
        wallet=wallet,
        reason=reason,
        reference=user,
    )


def deletion_blockers(user) -> list[str]:
    """What must stay and refers to `user` (ledger entries, purchases, disputes, …), by kind;
    empty when nothing does but an empty wallet."""
    found: set[str] = set()
    wallet = Wallet.objects.filter(user=user).first()
    for obj in [wallet, user] if wallet else [user]:
        collector = Collector(using=router.db_for_write(type(obj)))
        try:
            collector.collect([obj])
        except (ProtectedError, RestrictedError) as error:
            blocking = error.protected_objects if hasattr(error, "protected_objects") else []
            blocking = blocking or getattr(error, "restricted_objects", [])
            found |= {str(row._meta.verbose_name_plural) for row in blocking if row != wallet}
    return sorted(found)


@transaction.atomic
def delete_user(*, user, staff) -> None:
    """Delete an account nothing refers to (its empty wallet goes with it); refused, naming
    what must stay, for one with history: deactivate it instead."""
    check_power(user, staff)
    blockers = deletion_blockers(user)
    if blockers:
        raise InvalidRequest(
            f"{user.email} has history that must stay ({', '.join(blockers)}): the ledger is "
            "append-only, so deactivate the account instead."
        )
    Wallet.objects.filter(user=user).delete()
    user.delete()
