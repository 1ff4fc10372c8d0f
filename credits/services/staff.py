"""Staff powers over wallets, as a bank limits them.

- A staff member grants or deducts alone up to `CREDITS_STAFF_APPROVAL_ABOVE` credits at a time
  and `CREDITS_STAFF_DAILY_LIMIT` credits a UTC day; beyond either, the operation becomes an
  `ApprovalRequest` that posts only when a second member of staff with the
  `credits.decide_approvalrequest` permission approves it (maker-checker) before it expires.
- Nobody's powers reach their own wallet (`Actor.refuse_own_wallet`, also checked on every
  posting by `Posting`).
- Every act is written to the `StaffAction` audit trail in the same database transaction.

Every surface (the admin, the staff API) calls these; none calls `grant` or `adjust` for staff.
"""

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from credits.actors import Actor
from credits.errors import (
    ApprovalExpired,
    ApprovalRefused,
    CreditRefusal,
    IdempotencyConflict,
    InvalidRequest,
)
from credits.models import (
    ApprovalRequest,
    CreditGrant,
    CreditTransaction,
    IdempotencyRecord,
    StaffAction,
    Wallet,
)
from credits.services.audit import record_staff_action
from credits.services.movements import adjust, grant
from credits.services.posting import Reference
from credits.services.rules import check_amount, check_text

Operation = ApprovalRequest.Operation
Action = StaffAction.Kind
DECIDE_PERMISSION = "credits.decide_approvalrequest"
# What the admin and the staff API ask of whoever grants or deducts: the maker must still hold it.
GRANT_PERMISSION = "credits.change_wallet"


@dataclass(frozen=True)
class StaffOutcome:
    """What a staff grant or deduction did: posted a transaction, or asked for approval."""

    transaction: CreditTransaction | None = None
    approval: ApprovalRequest | None = None


def staff_grant(
    *,
    wallet: Wallet,
    amount: int,
    reason: str,
    staff,
    idempotency_key: str,
    promotional: bool = True,
    expires_at: datetime | None = None,
    priority: int = 50,
) -> StaffOutcome:
    """Grant credits as staff: posted now within the staff member's authority, else a request."""
    terms = {"is_promotional": promotional, "grant_expires_at": expires_at, "priority": priority}
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidRequest("The expiry must be in the future.")
    if not isinstance(priority, int) or not 0 <= priority <= 100:
        raise InvalidRequest("The priority must be a whole number from 0 to 100.")
    return _staff_operation(
        operation=Operation.GRANT,
        wallet=wallet,
        amount=amount,
        reason=reason,
        staff=staff,
        key=idempotency_key,
        terms=terms,
    )


def staff_deduct(
    *, wallet: Wallet, amount: int, reason: str, staff, idempotency_key: str
) -> StaffOutcome:
    """Deduct credits as staff: posted now within the staff member's authority, else a request."""
    return _staff_operation(
        operation=Operation.DEDUCT,
        wallet=wallet,
        amount=amount,
        reason=reason,
        staff=staff,
        key=idempotency_key,
        terms={},
    )


def _staff_operation(
    *, operation: str, wallet: Wallet, amount: int, reason: str, staff, key: str, terms: dict
) -> StaffOutcome:
    check_amount(amount)
    reason = check_text(reason, what="A reason", required=True)
    actor = Actor.for_staff(staff)
    actor.refuse_own_wallet(wallet)
    refused = None
    with transaction.atomic():
        # One staff member's operations run one at a time: the daily limit and the choice
        # between posting and asking are then decided on figures nobody else is changing.
        _lock_staff(staff)
        earlier = ApprovalRequest.objects.filter(requested_by=staff, idempotency_key=key).first()
        if earlier is not None:
            same = _same_request(earlier, operation, wallet, amount, reason, terms)
            return StaffOutcome(approval=same)
        already_posted = IdempotencyRecord.objects.filter(
            scope=actor.idempotency_scope, key=key
        ).exists()
        why = None if already_posted else _needs_approval(staff, amount)
        if why:
            return StaffOutcome(
                approval=_ask_approval(operation, wallet, amount, reason, staff, key, terms, why)
            )
        try:
            txn = _post(operation, wallet, amount, reason, actor, key, terms)
        except CreditRefusal as refusal:
            refused = refusal  # kept under the key by the ledger: re-raised after commit
        else:
            if not already_posted:
                record_staff_action(
                    staff_id=staff.pk,
                    kind=Action.GRANT if operation == Operation.GRANT else Action.DEDUCT,
                    wallet=wallet,
                    amount=amount,
                    reason=reason,
                    transaction=txn,
                )
            return StaffOutcome(transaction=txn)
    raise refused


def _post(operation, wallet, amount, reason, actor, key, terms, *, reference=None, metadata=None):
    if operation == Operation.GRANT:
        return grant(
            wallet=wallet,
            amount=amount,
            source=CreditGrant.Source.ADMIN,
            is_promotional=terms["is_promotional"],
            expires_at=terms["grant_expires_at"],
            priority=terms["priority"],
            description=reason,
            actor=actor,
            idempotency_key=key,
            reference=reference,
            metadata=metadata,
        )
    return adjust(
        wallet=wallet,
        amount=amount,
        reason=reason,
        actor=actor,
        idempotency_key=key,
        reference=reference,
        metadata=metadata,
    )


def _lock_staff(staff) -> None:
    get_user_model().objects.select_for_update().filter(pk=staff.pk).first()


def _needs_approval(staff, amount: int) -> str | None:
    """Why this operation is beyond the staff member's own authority, or None."""
    above = settings.CREDITS_STAFF_APPROVAL_ABOVE
    if amount > above:
        return f"More than {above:,} credits at once."
    left = authority_left_today(staff=staff)
    if amount > left:
        limit = settings.CREDITS_STAFF_DAILY_LIMIT
        return f"Beyond the daily limit of {limit:,} credits ({left:,} left today)."
    return None


def authority_left_today(*, staff, now: datetime | None = None) -> int:
    """Credits the staff member may still grant or deduct alone today (UTC)."""
    now = now or timezone.now()
    start_of_day = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    used = (
        StaffAction.objects.filter(
            staff=staff,
            kind__in=[Action.GRANT, Action.DEDUCT],
            approval__isnull=True,
            created_at__gte=start_of_day,
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    return max(settings.CREDITS_STAFF_DAILY_LIMIT - used, 0)


def _same_request(
    earlier: ApprovalRequest, operation, wallet, amount, reason, terms: dict
) -> ApprovalRequest:
    asked = (earlier.operation, earlier.wallet_id, earlier.amount, earlier.reason)
    earlier_terms = {name: getattr(earlier, name) for name in terms}
    if asked != (operation, wallet.pk, amount, reason) or earlier_terms != terms:
        raise IdempotencyConflict(
            f"The idempotency key {earlier.idempotency_key!r} was already used for a "
            "different request."
        )
    return earlier


def _ask_approval(operation, wallet, amount, reason, staff, key, terms, why) -> ApprovalRequest:
    now = timezone.now()
    deadline = now + timedelta(hours=settings.CREDITS_STAFF_APPROVAL_HOURS)
    credits_expire = terms.get("grant_expires_at")
    if credits_expire is not None and credits_expire <= deadline:
        raise InvalidRequest(
            f"This grant needs a colleague's approval ({why}), which may take until "
            f"{deadline:%Y-%m-%d %H:%M} UTC: give its credits an expiry after that."
        )
    approval = ApprovalRequest.objects.create(
        operation=operation,
        wallet=wallet,
        amount=amount,
        reason=reason,
        why_approval=why,
        requested_by=staff,
        idempotency_key=key,
        created_at=now,
        expires_at=deadline,
        **terms,
    )
    record_staff_action(
        staff_id=staff.pk,
        kind=Action.APPROVAL_REQUESTED,
        wallet=wallet,
        amount=amount,
        reason=reason,
        approval=approval,
    )
    return approval


def approve(*, approval: ApprovalRequest, staff, note: str = "") -> ApprovalRequest:
    """The second member of staff approves: the operation posts now, as its maker asked it.

    If the ledger refuses it (the wallet no longer has the credits, or is suspended), nothing
    is recorded and the request stays pending: approve again later, or refuse it.
    """
    note = check_text(note, what="The note", limit=2000)
    _expire_if_due(approval)
    with transaction.atomic():
        return _approve(_decidable(approval, staff), staff, note)


def _approve(locked: ApprovalRequest, staff, note: str) -> ApprovalRequest:
    _maker_may_still(locked)
    maker = locked.requested_by
    terms = {
        "is_promotional": locked.is_promotional,
        "grant_expires_at": locked.grant_expires_at,
        "priority": locked.priority,
    }
    txn = _post(
        locked.operation,
        locked.wallet,
        locked.amount,
        locked.reason,
        Actor.for_staff(maker),
        f"approval:{locked.pk}",
        terms,
        reference=Reference(text=f"Approval request #{locked.pk}", obj=locked),
        metadata={"approval_request": locked.pk, "approved_by": staff.get_username()},
    )
    return _decided(locked, staff, ApprovalRequest.Status.APPROVED, note, txn)


def refuse(*, approval: ApprovalRequest, staff, reason: str) -> ApprovalRequest:
    """The second member of staff refuses: nothing posts, ever, under this request."""
    reason = check_text(reason, what="A reason", required=True, limit=2000)
    _expire_if_due(approval)
    with transaction.atomic():
        return _decided(_decidable(approval, staff), staff, ApprovalRequest.Status.REFUSED, reason)


def _decided(
    locked: ApprovalRequest, staff, status: str, note: str, txn: CreditTransaction | None = None
) -> ApprovalRequest:
    locked.status, locked.transaction = status, txn
    locked.decided_by, locked.decided_at, locked.decision_note = staff, timezone.now(), note
    locked.save(
        update_fields=["status", "decided_by", "decided_at", "decision_note", "transaction"]
    )
    record_staff_action(
        staff_id=staff.pk,
        kind=Action.APPROVED if status == ApprovalRequest.Status.APPROVED else Action.REFUSED,
        wallet=locked.wallet,
        amount=locked.amount,
        reason=note,
        transaction=txn,
        approval=locked,
    )
    return locked


def _decidable(approval: ApprovalRequest, staff) -> ApprovalRequest:
    """The request, locked, if `staff` may decide it now; a refusal saying why otherwise."""
    locked = (
        ApprovalRequest.objects.select_for_update()
        .select_related("wallet", "requested_by")
        .get(pk=approval.pk)
    )
    if not (staff.is_active and staff.is_staff and staff.has_perm(DECIDE_PERMISSION)):
        raise ApprovalRefused("Deciding approval requests needs the approval permission.")
    if locked.requested_by_id == staff.pk:
        raise ApprovalRefused("A request is decided by a second member of staff, not its maker.")
    Actor.for_staff(staff).refuse_own_wallet(locked.wallet)
    if locked.status != ApprovalRequest.Status.PENDING:
        raise ApprovalRefused(f"This request is already {locked.get_status_display().lower()}.")
    if not locked.is_open():
        raise ApprovalExpired(
            f"This request expired at {locked.expires_at:%Y-%m-%d %H:%M} UTC: ask again."
        )
    return locked


def _maker_may_still(locked: ApprovalRequest) -> None:
    """An approval posts as its maker asked: refused if they may no longer grant or deduct
    (they left, or lost the power) since they asked."""
    maker = locked.requested_by
    if not (maker.is_active and maker.is_staff and maker.has_perm(GRANT_PERMISSION)):
        raise ApprovalRefused(
            f"{maker} may no longer grant or deduct credits, so their request cannot post: "
            "refuse it, and ask again yourself if it is still needed."
        )


def _expire_if_due(approval: ApprovalRequest) -> None:
    """A request past its deadline is marked expired (and stays so) before anyone decides it."""
    expired = ApprovalRequest.objects.filter(
        pk=approval.pk, status=ApprovalRequest.Status.PENDING, expires_at__lte=timezone.now()
    ).update(status=ApprovalRequest.Status.EXPIRED)
    if expired:
        raise ApprovalExpired(
            f"This request expired at {approval.expires_at:%Y-%m-%d %H:%M} UTC: ask again."
        )
