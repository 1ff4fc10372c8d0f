"""Two-phase spending: hold (reserve), then capture (all or in parts) or release."""

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from credits.actors import Actor
from credits.errors import (
    CaptureExceedsHold,
    CreditRefusal,
    HoldNotOpen,
    HoldNotYours,
    InvalidRequest,
)
from credits.models import CreditTransaction, Hold, Wallet
from credits.services import one_call
from credits.services.burn_down import (
    burn_down,
    earmarks,
    expire_due,
    give_back_to_grants,
    split,
    take_from_grants,
    unexpired_covering,
)
from credits.services.locks import lock_wallets
from credits.services.operation import run_operation
from credits.services.posting import Posting, Reference
from credits.services.rules import (
    MAY_RECEIVE,
    MAY_SPEND,
    Kind,
    check_amount,
    check_metadata,
    check_text,
    require_status,
)
from credits.services.system_accounts import system_wallet_id


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
    until_settled: bool = False,
) -> CreditTransaction:
    """Reserve credits for later capture. The transaction's `hold` is the new Hold.

    The credits are earmarked from grants in burn-down order: they stay in the balance but not
    in what is available, and they cannot expire while the hold is open. An open hold past
    `expires_at` (default: CREDITS_HOLD_TTL_HOURS from now; at most CREDITS_HOLD_MAX_TTL_DAYS
    ahead) is released by `credits_release_holds`. `metadata` is the caller's
    (rules.check_metadata), kept on the hold and its transaction.

    `until_settled` holds have no clock of their own (`expires_at` NULL, which the expiry sweep
    skips): a caller of ours whose own deadlines always settle them (a job's milestone: accepted
    on the review's end, released past its delivery deadline; see docs/jobs.md) asks for one, so
    the credits never expire in the middle of the work, however far its due dates. Only system
    callers may: a partner app's or a person's hold always ends.
    """
    check_amount(amount)
    description = check_text(description, what="The description")
    metadata = check_metadata(metadata)
    _check_expiry(expires_at)
    if until_settled and (actor.kind != "system" or expires_at is not None):
        raise InvalidRequest("Only CreditDesk's own services hold credits until settled.")
    reference = reference or Reference()
    params = {
        "wallet": wallet.pk,
        "amount": amount,
        "expires_at": expires_at,
        "description": description,
        "metadata": metadata,
        **reference.as_params(),
        **({"until_settled": True} if until_settled else {}),  # keys of before keep theirs
    }

    def perform(posting, claim):
        locked = claim.wallet
        posting.actor.check_charge(locked, amount, posting.now)
        grants = unexpired_covering(
            posting,
            locked,
            claim.grants,
            amount=amount,
            allowed=MAY_SPEND,
            refusal="Not enough credits to hold",
        )
        new_hold = posting.add_hold(
            Hold(
                wallet=locked,
                amount=amount,
                description=description,
                reference=reference.text,
                metadata=metadata or {},
                expires_at=_expiry(posting.now, expires_at, until_settled=until_settled),
                created_at=posting.now,
            )
        )
        txn = posting.add_transaction(
            kind=Kind.HOLD,
            wallet=locked,
            amount=amount,
            legs=[],
            description=description,
            reference=reference,
            metadata=metadata,
            hold=new_hold,
            primary=True,
        )
        take_from_grants(posting, txn, burn_down(grants, amount))
        locked.held += amount
        posting.wallet_changed(locked)
        return txn

    def in_one_call(call):
        return one_call.take(
            call,
            kind=Kind.HOLD,
            actor=actor,
            wallet=wallet,
            amount=amount,
            description=description,
            reference=reference,
            metadata=metadata,
            hold_expires_at=_expiry(call.now, expires_at, until_settled=until_settled),
        )

    return run_operation(
        actor=actor,
        key=idempotency_key,
        operation="hold",
        params=params,
        perform=perform,
        lock_wallet=wallet.pk,
        one_call=in_one_call,
    )


def _expiry(now: datetime, expires_at: datetime | None, *, until_settled: bool) -> datetime | None:
    if until_settled:
        return None  # no date at all: any date would be outlived by some job
    return expires_at or now + timedelta(hours=settings.CREDITS_HOLD_TTL_HOURS)


def _check_expiry(expires_at: datetime | None) -> None:
    """A caller's expiry is in the future and within CREDITS_HOLD_MAX_TTL_DAYS: reserved
    credits come back some day (a hold "until 2099" was accepted)."""
    if expires_at is None:
        return
    now = timezone.now()
    if expires_at <= now:
        raise InvalidRequest("The hold's expiry must be in the future.", field="expires_at")
    days = settings.CREDITS_HOLD_MAX_TTL_DAYS
    if expires_at > now + timedelta(days=days):
        raise InvalidRequest(
            f"A hold may last at most {days} days: give an expiry before "
            f"{now + timedelta(days=days):%Y-%m-%d %H:%M} UTC.",
            field="expires_at",
        )


def hold_grants(
    *,
    grants: list,
    actor: Actor,
    idempotency_key: str,
    description: str = "",
    reference: Reference | None = None,
) -> CreditTransaction | None:
    """Reserve whatever the given grants of one wallet still have (a disputed payment's credits).

    Unlike `hold`, it works on frozen wallets too: it protects credits rather than spending
    them. Returns None when the grants have nothing left. The hold does not expire by itself
    (`expires_at` NULL: staff or the dispute's outcome close it).
    """
    description = check_text(description, what="The description")
    reference = reference or Reference()
    wallet_ids = {grant.wallet_id for grant in grants}
    if len(wallet_ids) != 1:
        raise InvalidRequest("A hold on grants needs grants of one wallet.")
    grant_ids = sorted(grant.pk for grant in grants)
    params = {"grants": grant_ids, "description": description, **reference.as_params()}

    def perform(posting, claim):
        locked, spendable = claim.wallet, claim.grants
        require_status(locked, allowed=MAY_RECEIVE)
        chosen = [
            grant for grant in expire_due(posting, locked, spendable) if grant.pk in grant_ids
        ]
        amount = sum(grant.remaining for grant in chosen)
        if amount == 0:
            return None
        new_hold = posting.add_hold(
            Hold(
                wallet=locked,
                amount=amount,
                description=description,
                reference=reference.text,
                expires_at=None,
                created_at=posting.now,
            )
        )
        txn = posting.add_transaction(
            kind=Kind.HOLD,
            wallet=locked,
            amount=amount,
            legs=[],
            description=description,
            reference=reference,
            hold=new_hold,
            primary=True,
        )
        take_from_grants(posting, txn, burn_down(chosen, amount))
        locked.held += amount
        posting.wallet_changed(locked)
        return txn

    return run_operation(
        actor=actor,
        key=idempotency_key,
        operation="hold_grants",
        params=params,
        perform=perform,
        lock_wallet=wallet_ids.pop(),
    )


def capture(
    *,
    hold: Hold,
    actor: Actor,
    idempotency_key: str,
    amount: int | None = None,
    final: bool = True,
    description: str = "",
    metadata: dict | None = None,
) -> CreditTransaction:
    """Spend reserved credits: `amount` of them (default: all still reserved).

    With `final` (the default) the hold closes and whatever it still reserves goes back to
    the grants it came from. Without it the hold stays open for later captures, as a job
    captures each milestone of its budget. The capture is described by `description` (default:
    the hold's) and carries the caller's `metadata` (rules.check_metadata).
    """
    if amount is not None:
        check_amount(amount)
    description = check_text(description, what="The description")
    metadata = check_metadata(metadata)
    params = {
        "hold": hold.pk,
        "amount": amount,
        "final": final,
        "description": description,
        **({"metadata": metadata} if metadata else {}),  # keys of before keep their fingerprint
    }

    def perform(posting, claim):
        (locked,) = lock_wallets(hold.wallet_id)
        current = _open_hold(hold.pk)
        _require_placer(current, actor)
        require_status(locked, allowed=MAY_SPEND)
        to_capture = current.uncaptured if amount is None else amount
        if to_capture > current.uncaptured:
            raise CaptureExceedsHold(
                f"Cannot capture {to_capture}: the hold has {current.uncaptured} credits left."
            )
        captured, rest = split(earmarks(current, skip=current.captured_amount), to_capture)
        txn = posting.add_transaction(
            kind=Kind.CAPTURE,
            wallet=locked,
            amount=to_capture,
            legs=[(locked, -to_capture), (system_wallet_id("consumption"), to_capture)],
            description=description or current.description,
            metadata=metadata,
            hold=current,
            primary=True,
        )
        for grant, portion in captured:
            posting.allocate(txn, grant, portion)
        locked.held -= to_capture
        current.captured_amount += to_capture
        posting.hold_changed(current)
        if final or current.uncaptured == 0:
            _close(posting, current, locked, rest, status=Hold.Status.CAPTURED)
        return txn

    def in_one_call(call):
        return one_call.settle(
            call,
            kind=Kind.CAPTURE,
            actor=actor,
            hold=hold,
            amount=hold.uncaptured if amount is None else amount,
            final=final,
            description=description or hold.description,
            release_description=RELEASED,
            metadata=metadata,
            consumption_id=system_wallet_id("consumption"),
        )

    return run_operation(
        actor=actor,
        key=idempotency_key,
        operation="capture",
        params=params,
        perform=perform,
        one_call=in_one_call,
    )


def release(
    *,
    hold: Hold,
    actor: Actor,
    idempotency_key: str,
    description: str = "",
    metadata: dict | None = None,
) -> CreditTransaction:
    """Cancel what a hold still reserves: the credits go back to the grants they came from.
    The release carries the caller's `metadata` (rules.check_metadata), such as why staff
    released it."""
    description = check_text(description, what="The description")
    metadata = check_metadata(metadata)
    params = {
        "hold": hold.pk,
        "description": description,
        **({"metadata": metadata} if metadata else {}),  # keys of before keep their fingerprint
    }

    def perform(posting, claim):
        return _release(posting, hold, status=Hold.Status.RELEASED, metadata=metadata)

    def in_one_call(call):
        return one_call.settle(
            call,
            kind=Kind.RELEASE,
            actor=actor,
            hold=hold,
            amount=0,
            final=True,
            description=description,
            release_description=RELEASED,
            metadata=metadata,
            consumption_id=system_wallet_id("consumption"),
        )

    return run_operation(
        actor=actor,
        key=idempotency_key,
        operation="release",
        params=params,
        perform=perform,
        one_call=in_one_call,
    )


def release_expired_holds(*, now: datetime | None = None) -> list[CreditTransaction]:
    """Release every open hold past its expiry (one short transaction each).

    Safe beside live traffic and when run twice: each hold is re-read under its wallet's lock,
    so only the first release of it happens. Suspended wallets are skipped: nothing moves in them.
    Holds without an expiry (until settled: a job's, a disputed payment's) are never due.
    """
    now = now or timezone.now()
    actor = Actor.system("credits_release_holds")
    due = Hold.objects.filter(
        status=Hold.Status.OPEN, expires_at__isnull=False, expires_at__lte=now
    ).exclude(wallet__status=Wallet.Status.SUSPENDED)
    released = []
    for due_hold in due.order_by("expires_at", "id").iterator():
        try:
            txn = run_operation(
                actor=actor,
                key=f"hold-expiry:{due_hold.pk}:{now.isoformat()}",
                operation="release",
                params={"hold": due_hold.pk, "expired_at": now},
                perform=lambda posting, claim, due_hold=due_hold: _release(
                    posting, due_hold, status=Hold.Status.EXPIRED
                ),
            )
        except CreditRefusal:
            continue  # captured, released or suspended since we looked
        if txn is not None:
            released.append(txn)
    return released


def _release(
    posting: Posting, hold: Hold, *, status: str, metadata: dict | None = None
) -> CreditTransaction | None:
    (locked,) = lock_wallets(hold.wallet_id)
    current = _open_hold(hold.pk)
    _require_placer(current, posting.actor)
    require_status(locked, allowed=MAY_RECEIVE)
    rest = earmarks(current, skip=current.captured_amount)
    return _close(posting, current, locked, rest, status=status, metadata=metadata)


# What a release says it is (one_call's functions write it too).
RELEASED = "Hold released"


def _require_placer(hold: Hold, actor: Actor) -> None:
    """Only whoever placed a hold settles it (staff and the system may settle any): a job's
    budget reserved by a partner app cannot be released, or captured for a credit, by the
    wallet's owner."""
    if actor.kind in ("staff", "system"):
        return
    placed = (
        CreditTransaction.objects.filter(hold_id=hold.pk, kind=Kind.HOLD)
        .values("actor_kind", "actor_user_id", "actor_app_id", "actor_label")
        .first()
    )
    placer = Actor(
        kind=placed["actor_kind"],
        user_id=placed["actor_user_id"],
        app_id=placed["actor_app_id"],
        label=placed["actor_label"],
    )
    if placer.idempotency_scope != actor.idempotency_scope:
        raise HoldNotYours(
            f"Hold #{hold.pk} was placed by {placer.label}: only they can settle it."
        )


def _open_hold(hold_id: int) -> Hold:
    """The hold, re-read under its wallet's lock; refused unless it is still open."""
    current = Hold.objects.get(pk=hold_id)
    if current.status != Hold.Status.OPEN:
        raise HoldNotOpen(f"Hold #{hold_id} is {current.status}, not open.")
    return current


def _close(
    posting: Posting,
    hold: Hold,
    wallet: Wallet,
    rest: list,
    *,
    status: str,
    metadata: dict | None = None,
):
    """Close a hold, giving what it still reserves back to its grants in a release (which
    carries `metadata`, if any)."""
    txn = None
    returned = sum(portion for _, portion in rest)
    if returned:
        txn = posting.add_transaction(
            kind=Kind.RELEASE,
            wallet=wallet,
            amount=returned,
            legs=[],
            description="Hold expired" if status == Hold.Status.EXPIRED else RELEASED,
            event="hold.expired" if status == Hold.Status.EXPIRED else "hold.released",
            metadata=metadata,
            hold=hold,
            # A release asked for by itself is the operation's result; one that closes a
            # capture's remainder is not.
            primary=posting.record_id is not None and not posting.has_primary,
        )
        wallet.held -= returned
        posting.wallet_changed(wallet)
        give_back_to_grants(posting, txn, wallet, rest)
    hold.status = status
    hold.closed_at = posting.now
    posting.hold_changed(hold)
    return txn
