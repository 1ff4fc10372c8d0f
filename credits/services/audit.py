"""The audit trail of staff powers (`StaffAction`): one row per act, in the act's transaction."""

from django.contrib.contenttypes.models import ContentType

from credits.models import ApprovalRequest, CreditTransaction, StaffAction, Wallet


def record_staff_action(
    *,
    staff_id: int,
    kind: str,
    reason: str = "",
    wallet: Wallet | None = None,
    amount: int | None = None,
    transaction: CreditTransaction | None = None,
    approval: ApprovalRequest | None = None,
    reference=None,
) -> StaffAction:
    """Add one act to the staff audit trail; call it inside the act's database transaction."""
    return StaffAction.objects.create(
        staff_id=staff_id,
        kind=kind,
        wallet=wallet,
        amount=amount,
        reason=reason,
        transaction=transaction,
        approval=approval,
        reference_type=ContentType.objects.get_for_model(reference) if reference else None,
        reference_id=str(reference.pk) if reference else "",
    )
