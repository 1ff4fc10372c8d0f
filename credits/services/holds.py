"""Two-phase spending: hold (reserve), then capture (all or in parts) or release."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from credits.actors import Actor
from credits.errors import (
    CaptureExceedsHold,
    CreditRefusal,
    HoldNotOpen,
    InsufficientCredits,
    InvalidRequest,
)
from credits.models import Allocation, CreditTransaction, Hold, Wallet
from credits.selectors import grants_in_burn_down_order
from credits.services.idempotency import run_idempotent
from credits.services.ledger import (
    MAY_RECEIVE,
    MAY_SPEND,
    Kind,
    Reference,
    burn_down,
    check_amount,
    check_text,
    earmarks,
    expire_due,
    give_back_to_grants,
    lock_wallets,
    post,
    require_status,
    save_wallets,
    split,
    system_wallet_id,
    take_from_grants,
)


def hold(
    *,
    wallet: Wallet,
    amount: int,
    actor: Actor,
    idempotency_key: str,
    expires_at: datetime | None = None,
    description: str = "",
    reference: Reference | None = None,
    metadata: dict | None = None,
) -> CreditTransaction:
    """Reserve credits for later capture. The transaction's `hold` is the new Hold.

    The credits are earmarked from grants in burn-down order: they stay in the balance but not
    in what is available, and they cannot expire while the hold is open. An open hold past
    `expires_at` (default: CREDITS_HOLD_TTL_HOURS from now) is released by
    `credits_release_holds`.
    """
    check_amount(amount)
    description = check_text(description, what="The description")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidRequest("The hold's expiry must be in the future.")
    reference = reference or Reference()
    params = {
        "wallet": wallet.pk,
        "amount": amount,
        "expires_at": expires_at,
        "description": description,
        "metadata": metadata,
        **reference.as_params(),
    }

    def perform(record):
        now = timezone.now()
        (locked,) = lock_wallets(wallet.pk)
        require_status(locked, allowed=MAY_SPEND)
        grants = expire_due(locked, grants_in_burn_down_order(locked), actor=actor, now=now)
        if amount > locked.available:
            save_wallets(locked)
            raise InsufficientCredits(
                f"Not enough credits to hold: {amount} asked, {locked.available} available."
            )
        new_hold = Hold.objects.create(
            wallet=locked,
            amount=amount,
            description=description,
            reference=reference.text,
            expires_at=expires_at or now + timedelta(hours=settings.CREDITS_HOLD_TTL_HOURS),
            created_at=now,
        )
        txn = post(
            kind=Kind.HOLD,
            wallet=locked,
            amount=amount,
            legs=[],
            actor=actor,
            now=now,
            description=description,
            reference=reference,
            metadata=metadata,
            record=record,
            hold=new_hold,
        )
        take_from_grants(txn, burn_down(grants, amount))
        locked.held += amount
        save_wallets(locked)
        return txn

    return run_idempotent(
        actor=actor, key=idempotency_key, operation="hold", params=params, perform=perform
    )


def capture(
    *,
    hold: Hold,
    actor: Actor,
    idempotency_key: str,
    amount: int | None = None,
    final: bool = True,
    description: str = "",
) -> CreditTransaction:
    """Spend reserved credits: `amount` of them (default: all still reserved).

    With `final` (the default) the hold closes and whatever it still reserves goes back to
    the grants it came from. Without it the hold stays open for later captures, as a job
    captures each milestone of its budget.
    """
    if amount is not None:
        check_amount(amount)
    description = check_text(description, what="The description")
    params = {"hold": hold.pk, "amount": amount, "final": final, "description": description}

    def perform(record):
        now = timezone.now()
        (locked,) = lock_wallets(hold.wallet_id)
        current = _open_hold(hold.pk)
        require_status(locked, allowed=MAY_SPEND)
        to_capture = current.uncaptured if amount is None else amount
        if to_capture > current.uncaptured:
            raise CaptureExceedsHold(
                f"Cannot capture {to_capture}: the hold has {current.uncaptured} credits left."
            )
        captured, rest = split(earmarks(current, skip=current.captured_amount), to_capture)
        txn = post(
            kind=Kind.CAPTURE,
            wallet=locked,
            amount=to_capture,
            legs=[(locked, -to_capture), (system_wallet_id("consumption"), to_capture)],
            actor=actor,
            now=now,
            description=description or current.description,
            record=record,
            hold=current,
        )
        Allocation.objects.bulk_create(
            Allocation(transaction=txn, grant=grant, amount=portion) for grant, portion in captured
        )
        locked.held -= to_capture
        current.captured_amount += to_capture
        if final or current.uncaptured == 0:
            _close(current, locked, rest, status=Hold.Status.CAPTURED, actor=actor, now=now)
        else:
            current.save(update_fields=["captured_amount"])
        save_wallets(locked)
        return txn

    return run_idempotent(
        actor=actor, key=idempotency_key, operation="capture", params=params, perform=perform
    )


def release(
    *, hold: Hold, actor: Actor, idempotency_key: str, description: str = ""
) -> CreditTransaction:
    """Cancel what a hold still reserves: the credits go back to the grants they came from."""
    description = check_text(description, what="The description")
    params = {"hold": hold.pk, "description": description}

    def perform(record):
        return _release(hold, actor=actor, record=record, status=Hold.Status.RELEASED)

    return run_idempotent(
        actor=actor, key=idempotency_key, operation="release", params=params, perform=perform
    )


def release_expired_holds(*, now: datetime | None = None) -> list[CreditTransaction]:
    """Release every open hold past its expiry (one short transaction each).

    Safe beside live traffic and when run twice: each hold is re-read under its wallet's lock,
    so only the first release of it happens. Suspended wallets are skipped: nothing moves in them.
    """
    now = now or timezone.now()
    actor = Actor.system("credits_release_holds")
    due = Hold.objects.filter(status=Hold.Status.OPEN, expires_at__lte=now).exclude(
        wallet__status=Wallet.Status.SUSPENDED
    )
    released = []
    for due_hold in due.order_by("expires_at", "id").iterator():
        try:
            txn = run_idempotent(
                actor=actor,
                key=f"hold-expiry:{due_hold.pk}:{now.isoformat()}",
                operation="release",
                params={"hold": due_hold.pk, "expired_at": now},
                perform=lambda record, due_hold=due_hold: _release(
                    due_hold, actor=actor, record=record, status=Hold.Status.EXPIRED
                ),
            )
        except CreditRefusal:
            continue  # captured, released or suspended since we looked
        if txn is not None:
            released.append(txn)
    return released


def _release(hold: Hold, *, actor: Actor, record, status: str) -> CreditTransaction | None:
    now = timezone.now()
    (locked,) = lock_wallets(hold.wallet_id)
    current = _open_hold(hold.pk)
    require_status(locked, allowed=MAY_RECEIVE)
    rest = earmarks(current, skip=current.captured_amount)
    txn = _close(current, locked, rest, status=status, actor=actor, now=now, record=record)
    save_wallets(locked)
    return txn


def _open_hold(hold_id: int) -> Hold:
    """The hold, re-read under its wallet's lock; refused unless it is still open."""
    current = Hold.objects.get(pk=hold_id)
    if current.status != Hold.Status.OPEN:
        raise HoldNotOpen(f"Hold #{hold_id} is {current.status}, not open.")
    return current


def _close(
    hold: Hold,
    wallet: Wallet,
    rest: list,
    *,
    status: str,
    actor: Actor,
    now: datetime,
    record=None,
) -> CreditTransaction | None:
    """Close a hold, giving what it still reserves back to its grants in a release."""
    txn = None
    returned = sum(portion for _, portion in rest)
    if returned:
        description = "Hold expired" if status == Hold.Status.EXPIRED else "Hold released"
        txn = post(
            kind=Kind.RELEASE,
            wallet=wallet,
            amount=returned,
            legs=[],
            actor=actor,
            now=now,
            description=description,
            record=record,
            hold=hold,
        )
        wallet.held -= returned
        give_back_to_grants(txn, rest, wallet=wallet, actor=actor, now=now)
    hold.status = status
    hold.closed_at = now
    hold.save(update_fields=["captured_amount", "status", "closed_at"])
    return txn
