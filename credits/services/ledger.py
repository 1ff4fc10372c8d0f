"""The ledger's building blocks, shared by the operations: locks, postings, burn-down.

Only the operations in this package call these; they assume the caller holds the locks.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db import models

from credits.actors import Actor
from credits.errors import InvalidRequest, WalletNotActive
from credits.models import Allocation, CreditGrant, CreditTransaction, Entry, Wallet

Kind = CreditTransaction.Kind

# The platform's side of every posting. Created by a data migration; looked up once per process.
SYSTEM_WALLETS = (
    "purchases",
    "subscriptions",
    "promotions",
    "adjustments",
    "consumption",
    "expired",
    "refunds",
)
_system_wallet_ids: dict[str, int] = {}

MAX_AMOUNT = 10**12


def system_wallet_id(code: str) -> int:
    """The id of a system account (never locked, never updated: its balance is Σ its entries)."""
    if code not in _system_wallet_ids:
        wallet, _ = Wallet.objects.get_or_create(
            system_code=code, defaults={"kind": Wallet.Kind.SYSTEM}
        )
        _system_wallet_ids[code] = wallet.pk
    return _system_wallet_ids[code]


def forget_system_wallets() -> None:
    """Drop the cached ids (tests that empty the database call this)."""
    _system_wallet_ids.clear()


def check_amount(amount: object, *, what: str = "The amount") -> int:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise InvalidRequest(f"{what} must be a whole number of credits.")
    if not 0 < amount <= MAX_AMOUNT:
        raise InvalidRequest(f"{what} must be between 1 and {MAX_AMOUNT} credits.")
    return amount


def check_text(value: object, *, what: str, required: bool = False, limit: int = 255) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidRequest(f"{what} must be text.")
    value = value.strip()
    if required and not value:
        raise InvalidRequest(f"{what} is required.")
    if len(value) > limit:
        raise InvalidRequest(f"{what} must be at most {limit} characters.")
    return value


def lock_wallets(*wallet_ids: int) -> list[Wallet]:
    """Lock user wallets FOR UPDATE, in id order (so two transfers can never deadlock)."""
    ids = sorted(set(wallet_ids))
    wallets = {
        wallet.pk: wallet
        for wallet in Wallet.objects.select_for_update()
        .filter(pk__in=ids, kind=Wallet.Kind.USER)
        .order_by("pk")
    }
    if len(wallets) != len(ids):
        raise InvalidRequest("No such wallet.")
    return [wallets[wallet_id] for wallet_id in wallet_ids]


def require_status(wallet: Wallet, *, allowed: Iterable[str]) -> None:
    if wallet.status not in allowed:
        raise WalletNotActive(
            f"This wallet is {wallet.status}: {Wallet.Status(wallet.status).label.lower()}."
        )


# Who may do what: frozen wallets receive but do not spend; suspended ones do nothing.
MAY_SPEND = (Wallet.Status.ACTIVE,)
MAY_RECEIVE = (Wallet.Status.ACTIVE, Wallet.Status.FROZEN)


@dataclass
class Reference:
    """What a transaction is about: free text, and optionally the object that caused it."""

    text: str = ""
    obj: models.Model | None = None

    def as_params(self) -> dict:
        target = None
        if self.obj is not None:
            target = [self.obj._meta.label_lower, str(self.obj.pk)]
        return {"reference": self.text, "reference_object": target}


def post(
    *,
    kind: str,
    wallet: Wallet,
    amount: int,
    legs: list[tuple[Wallet | int, int]],
    actor: Actor,
    now: datetime,
    description: str = "",
    reference: Reference | None = None,
    metadata: dict | None = None,
    record=None,
    reverses: CreditTransaction | None = None,
    hold=None,
) -> CreditTransaction:
    """Write a transaction and its legs; move the cached balance of each locked user wallet.

    `legs` pairs a locked Wallet (a user wallet) or a system account id with a signed amount.
    The caller saves the wallets (`save_wallets`) once it has finished changing them.
    """
    if sum(amount for _, amount in legs) != 0:
        raise AssertionError(f"unbalanced legs for {kind}: {legs}")
    reference = reference or Reference()
    txn = CreditTransaction.objects.create(
        kind=kind,
        wallet=wallet,
        amount=amount,
        description=description,
        reference=reference.text,
        reference_type=ContentType.objects.get_for_model(reference.obj) if reference.obj else None,
        reference_id=str(reference.obj.pk) if reference.obj else "",
        metadata=metadata or {},
        actor_kind=actor.kind,
        actor_user_id=actor.user_id,
        actor_app_id=actor.app_id,
        actor_label=actor.label[:100],
        idempotency_record=record,
        reverses=reverses,
        hold=hold,
        created_at=now,
    )
    entries = []
    for account, leg_amount in legs:
        if isinstance(account, Wallet):
            account.balance += leg_amount
            entries.append(
                Entry(
                    transaction=txn,
                    wallet=account,
                    amount=leg_amount,
                    balance_after=account.balance,
                    created_at=now,
                )
            )
        else:
            entries.append(
                Entry(transaction=txn, wallet_id=account, amount=leg_amount, created_at=now)
            )
    Entry.objects.bulk_create(entries)
    return txn


def save_wallets(*wallets: Wallet) -> None:
    for wallet in wallets:
        Wallet.objects.filter(pk=wallet.pk).update(balance=wallet.balance, held=wallet.held)


def is_expired(grant: CreditGrant, now: datetime) -> bool:
    return grant.expires_at is not None and grant.expires_at <= now


def expire_due(
    wallet: Wallet, grants: list[CreditGrant], *, actor: Actor, now: datetime
) -> list[CreditGrant]:
    """Post an expiry for each grant past its date that still has credits; return the others.

    Spends call this under the wallet's lock, so credits past their date are never spent even
    if the expiry command has not run yet, and the balance shown stays true.
    """
    live = []
    for grant in grants:
        if is_expired(grant, now) and grant.remaining > 0:
            post_expiry(wallet, grant, actor=actor, now=now)
        else:
            live.append(grant)
    return live


def post_expiry(
    wallet: Wallet, grant: CreditGrant, *, actor: Actor, now: datetime, record=None
) -> CreditTransaction:
    amount = grant.remaining
    txn = post(
        kind=Kind.EXPIRY,
        wallet=wallet,
        amount=amount,
        legs=[(wallet, -amount), (system_wallet_id("expired"), amount)],
        actor=actor,
        now=now,
        description=f"Credits of grant #{grant.pk} expired",
        record=record,
    )
    grant.remaining = 0
    grant.expired_amount += amount
    CreditGrant.objects.filter(pk=grant.pk).update(remaining=0, expired_amount=grant.expired_amount)
    Allocation.objects.create(transaction=txn, grant=grant, amount=amount)
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


def take_from_grants(txn: CreditTransaction, plan: list[tuple[CreditGrant, int]]) -> None:
    """Lower each planned grant's remainder and record the allocations."""
    for grant, take in plan:
        grant.remaining -= take
        CreditGrant.objects.filter(pk=grant.pk).update(remaining=grant.remaining)
    Allocation.objects.bulk_create(
        Allocation(transaction=txn, grant=grant, amount=take) for grant, take in plan
    )


def give_back_to_grants(
    txn: CreditTransaction,
    portions: list[tuple[CreditGrant, int]],
    *,
    wallet: Wallet,
    actor: Actor,
    now: datetime,
) -> None:
    """Return credits to the grants they came from (a release or a capture's remainder).

    Credits returning to a grant that expired meanwhile expire at once: they were only kept
    because a hold had them.
    """
    restored: dict[int, CreditGrant] = {}
    for grant, amount in portions:
        grant = restored.setdefault(grant.pk, grant)
        grant.remaining += amount
        CreditGrant.objects.filter(pk=grant.pk).update(remaining=grant.remaining)
    Allocation.objects.bulk_create(
        Allocation(transaction=txn, grant=grant, amount=amount) for grant, amount in portions
    )
    expire_due(wallet, list(restored.values()), actor=actor, now=now)


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
