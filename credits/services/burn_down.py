"""Burn-down, expiry and giving back: how an operation decides which credit blocks move.

These assume the caller holds the wallet's lock, and record what they decide in the
operation's `Posting` rather than writing themselves.
"""

from collections.abc import Iterable
from datetime import datetime

from credits.errors import InsufficientCredits
from credits.models import Allocation, CreditGrant, Wallet
from credits.services.posting import Posting
from credits.services.rules import Kind, require_status
from credits.services.system_accounts import system_wallet_id


def is_expired(grant: CreditGrant, now: datetime) -> bool:
    return grant.expires_at is not None and grant.expires_at <= now


def expire_due(posting: Posting, wallet: Wallet, grants: list[CreditGrant]) -> list[CreditGrant]:
    """Expire each grant past its date that still has credits; return the others.

    Operations that spend call this under the wallet's lock before counting what is available,
    so credits past their date are never spent even if the expiry command has not run yet.
    """
    live = []
    for grant in grants:
        if is_expired(grant, posting.now) and grant.remaining > 0:
            post_expiry(posting, wallet, grant)
        else:
            live.append(grant)
    return live


def unexpired_covering(
    posting: Posting,
    wallet: Wallet,
    grants: list[CreditGrant],
    *,
    amount: int,
    allowed: Iterable[str],
    refusal: str = "Not enough credits",
) -> list[CreditGrant]:
    """The wallet's unexpired grants, once it is sure they cover `amount`; else a refusal.

    Expires what is past its date first, and writes those expiries even when it refuses: the
    credits were gone either way.
    """
    require_status(wallet, allowed=allowed)
    grants = expire_due(posting, wallet, grants)
    if amount > wallet.available:
        raise InsufficientCredits(f"{refusal}: {amount} asked, {wallet.available} available.")
    return grants


def post_expiry(posting: Posting, wallet: Wallet, grant: CreditGrant, *, primary: bool = False):
    amount = grant.remaining
    txn = posting.add_transaction(
        kind=Kind.EXPIRY,
        wallet=wallet,
        amount=amount,
        legs=[(wallet, -amount), (system_wallet_id("expired"), amount)],
        description=f"Credits of grant #{grant.pk} expired",
        primary=primary,
    )
    grant.remaining = 0
    grant.expired_amount += amount
    posting.grant_changed(grant)
    posting.allocate(txn, grant, amount)
    return txn


def burn_down(grants: list[CreditGrant], amount: int) -> list[tuple[CreditGrant, int]]:
    """Which grants cover `amount`, in order, and how much of each (the caller checked the sum)."""
    plan = []
    left = amount
    for grant in grants:
        if left == 0:
            break
        take = min(grant.remaining, left)
        if take:
            plan.append((grant, take))
            left -= take
    if left:
        raise AssertionError("burn-down ran out of grants after the available check")
    return plan


def take_from_grants(posting: Posting, txn, plan: list[tuple[CreditGrant, int]]) -> None:
    """Lower each planned grant's remainder and record the allocations."""
    for grant, take in plan:
        grant.remaining -= take
        posting.grant_changed(grant)
        posting.allocate(txn, grant, take)


def give_back_to_grants(
    posting: Posting, txn, wallet: Wallet, portions: list[tuple[CreditGrant, int]]
) -> None:
    """Return credits to the grants they came from (a release, or a capture's remainder).

    Credits returning to a grant that expired meanwhile expire at once: they were only kept
    because a hold had them.
    """
    restored: dict[int, CreditGrant] = {}
    for grant, amount in portions:
        grant = restored.setdefault(grant.pk, grant)
        grant.remaining += amount
        posting.grant_changed(grant)
        posting.allocate(txn, grant, amount)
    expire_due(posting, wallet, list(restored.values()))


def earmarks(hold, *, skip: int) -> list[tuple[CreditGrant, int]]:
    """The portions of grants a hold reserved, in order, after the first `skip` credits."""
    portions = []
    allocations = (
        Allocation.objects.filter(transaction__hold=hold, transaction__kind=Kind.HOLD)
        .select_related("grant")
        .order_by("id")
    )
    for allocation in allocations:
        amount = allocation.amount
        if skip >= amount:
            skip -= amount
            continue
        portions.append((allocation.grant, amount - skip))
        skip = 0
    return portions


def split(
    portions: list[tuple[CreditGrant, int]], amount: int
) -> tuple[list[tuple[CreditGrant, int]], list[tuple[CreditGrant, int]]]:
    """The first `amount` credits of `portions`, and the rest."""
    head, tail = [], []
    left = amount
    for grant, portion in portions:
        if left >= portion:
            head.append((grant, portion))
            left -= portion
        elif left > 0:
            head.append((grant, left))
            tail.append((grant, portion - left))
            left = 0
        else:
            tail.append((grant, portion))
    return head, tail
