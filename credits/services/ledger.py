"""The ledger's building blocks, shared by the operations: checks, locks, burn-down, expiry.

Only the operations in this package call these; they assume the caller holds the locks, and
they record writes in the operation's `Book` rather than writing themselves.
"""

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.db import connection, models

from credits.errors import InsufficientCredits, InvalidRequest, WalletNotActive
from credits.models import Allocation, CreditGrant, CreditTransaction, Wallet
from credits.services.book import Book, prepared_cursor

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
    "transfers",
)
_system_wallet_ids: dict[str, int] = {}

MAX_AMOUNT = 10**12

# Who may do what: frozen wallets receive but do not spend; suspended ones do nothing.
MAY_SPEND = (Wallet.Status.ACTIVE,)
MAY_RECEIVE = (Wallet.Status.ACTIVE, Wallet.Status.FROZEN)


def system_wallet_id(code: str) -> int:
    """The id of a system account (never locked, never updated: its balance is Σ its entries).

    The accounts come from a migration and cannot be deleted, so their ids are cached. They are
    never created here: a creation that rolled back would leave a cached id of nothing.
    """
    if code not in _system_wallet_ids:
        wallet_id = (
            Wallet.objects.filter(system_code=code, kind=Wallet.Kind.SYSTEM)
            .values_list("pk", flat=True)
            .first()
        )
        if wallet_id is None:
            raise ImproperlyConfigured(
                f"The system account {code!r} is missing: run `manage.py migrate`."
            )
        _system_wallet_ids[code] = wallet_id
    return _system_wallet_ids[code]


def forget_system_wallet_ids() -> None:
    """Forget the cached system account ids: after switching databases they name the old one's."""
    _system_wallet_ids.clear()


def open_system_wallets() -> None:
    """Create any missing system account (as the migration does) and forget cached ids.

    For tests that empty the database; the migration does it everywhere else.
    """
    forget_system_wallet_ids()
    for code in SYSTEM_WALLETS:
        Wallet.objects.get_or_create(system_code=code, defaults={"kind": Wallet.Kind.SYSTEM})


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


STATUS_MEANING = {
    Wallet.Status.FROZEN: "This wallet is frozen: it may receive credits but not spend them.",
    Wallet.Status.SUSPENDED: "This wallet is suspended: no credits move in or out.",
}


def require_status(wallet: Wallet, *, allowed: Iterable[str]) -> None:
    if wallet.status not in allowed:
        raise WalletNotActive(STATUS_MEANING[wallet.status])


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


# --- locks and reads -----------------------------------------------------------------------

# Both in the models' field order, as Model.from_db needs.
WALLET_COLUMNS = ("id", "kind", "user_id", "balance", "held", "status")
GRANT_COLUMNS = (
    "id",
    "wallet_id",
    "source",
    "amount",
    "remaining",
    "expired_amount",
    "expires_at",
    "priority",
    "is_promotional",
    "cost_basis",
    "currency",
)
WALLET_TABLE = Wallet._meta.db_table
GRANT_TABLE = CreditGrant._meta.db_table
# The burn-down order (see selectors.grants_in_burn_down_order, which shows it to people).
BURN_DOWN_ORDER = "g.priority, g.expires_at NULLS LAST, g.is_promotional DESC, g.id"


def _for_update() -> str:
    if not connection.features.has_select_for_update:
        return ""  # SQLite: the IMMEDIATE transaction already holds the database's write lock
    return " FOR UPDATE"


def _wallet(row) -> Wallet:
    # As the ORM builds a row it read: columns left out load if ever asked for.
    return Wallet.from_db(connection.alias, WALLET_COLUMNS, row)


def _grant(row) -> CreditGrant:
    if connection.vendor == "sqlite":
        # SQLite hands back datetimes as text, decimals as floats and booleans as 0/1.
        values = dict(zip(GRANT_COLUMNS, row, strict=True))
        field = CreditGrant._meta.get_field
        for name in ("expires_at", "cost_basis", "is_promotional"):
            value = values[name]
            if name == "expires_at" and value is not None:
                value = connection.ops.convert_datetimefield_value(value, None, connection)
            values[name] = field(name).to_python(value)
        row = tuple(values.values())
    return CreditGrant.from_db(connection.alias, GRANT_COLUMNS, row)


def lock_wallets(*wallet_ids: int) -> list[Wallet]:
    """Lock user wallets FOR UPDATE, in id order (so two transfers can never deadlock).

    Returns them in the order asked.
    """
    ids = sorted(set(wallet_ids))
    placeholders = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(WALLET_COLUMNS)} FROM {WALLET_TABLE} "
            f"WHERE id IN ({placeholders}) AND kind = 'user' ORDER BY id{_for_update()}",
            ids,
        )
        wallets = {row[0]: _wallet(row) for row in cursor.fetchall()}
    if len(wallets) != len(ids):
        raise InvalidRequest("No such wallet.")
    return [wallets[wallet_id] for wallet_id in wallet_ids]


def lock_wallet_with_grants(wallet_id: int) -> tuple[Wallet, list[CreditGrant]]:
    """Lock a wallet, then read its grants with credits left, in burn-down order.

    Two statements, on purpose: under READ COMMITTED a single locking join would, after waiting
    for the lock, return the grants as they were before the wait.
    """
    (wallet,) = lock_wallets(wallet_id)
    return wallet, spendable_grants(wallet_id)


def spendable_grants(wallet_id: int) -> list[CreditGrant]:
    """A locked wallet's grants with credits left, in burn-down order."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(f'g.{name}' for name in GRANT_COLUMNS)} FROM {GRANT_TABLE} g "
            f"WHERE g.wallet_id = %s AND g.remaining > 0 ORDER BY {BURN_DOWN_ORDER}",
            [wallet_id],
        )
        return [_grant(row) for row in cursor.fetchall()]


def claim_and_lock_wallet(
    claim_sql: str, claim_row: list, wallet_id: int
) -> tuple[int | None, Wallet, list[CreditGrant]]:
    """Claim an idempotency key, lock a wallet and read its spendable grants.

    On PostgreSQL this is one statement. Its grants come from the statement's snapshot, which is
    stale if it had to wait for the lock; the join of the wallet with itself, unlocked, tells:
    the unlocked copy is the row as the snapshot saw it, the locked one the row as it is now. The
    same tuple (ctid) means no one changed the wallet in between, and since every change to a
    grant updates its wallet's row in the same transaction (Book enforces it), the grants are
    current. Otherwise they are read again.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(claim_sql, claim_row)
            found = cursor.fetchone()
        wallet, grants = lock_wallet_with_grants(wallet_id)
        return (found[0] if found else None), wallet, grants
    width = len(WALLET_COLUMNS)
    with prepared_cursor() as cursor:
        cursor.execute(_claim_and_lock_sql(claim_sql), [*claim_row, wallet_id])
        rows = cursor.fetchall()
    if not rows:
        raise InvalidRequest("No such wallet.")
    record_id, current = rows[0][0], rows[0][1]
    wallet = _wallet(rows[0][2 : 2 + width])
    if not current:
        return record_id, wallet, spendable_grants(wallet_id)
    grants = [_grant(row[2 + width :]) for row in rows if row[2 + width] is not None]
    return record_id, wallet, grants


@functools.cache
def _claim_and_lock_sql(claim_sql: str) -> str:
    """The statement's text, made once per process: the hot path should not rebuild it."""
    return (
        f"WITH claim AS ({claim_sql}) "
        "SELECT (SELECT id FROM claim), w.ctid = seen.ctid, "
        f"{', '.join(f'w.{name}' for name in WALLET_COLUMNS)}, "
        f"{', '.join(f'g.{name}' for name in GRANT_COLUMNS)} "
        f"FROM {WALLET_TABLE} w JOIN {WALLET_TABLE} seen ON seen.id = w.id "
        f"LEFT JOIN {GRANT_TABLE} g ON g.wallet_id = w.id AND g.remaining > 0 "
        f"WHERE w.id = %s AND w.kind = 'user' ORDER BY {BURN_DOWN_ORDER} FOR UPDATE OF w"
    )


def lock_grant(grant_id: int) -> tuple[Wallet, CreditGrant]:
    """Lock the wallet a grant belongs to, then read the grant under that lock."""
    wallet_id = CreditGrant.objects.values_list("wallet_id", flat=True).get(pk=grant_id)
    (wallet,) = lock_wallets(wallet_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(GRANT_COLUMNS)} FROM {GRANT_TABLE} WHERE id = %s",
            [grant_id],
        )
        return wallet, _grant(cursor.fetchone())


# --- burn-down, expiry, giving back ----------------------------------------------------------


def is_expired(grant: CreditGrant, now: datetime) -> bool:
    return grant.expires_at is not None and grant.expires_at <= now


def expire_due(book: Book, wallet: Wallet, grants: list[CreditGrant]) -> list[CreditGrant]:
    """Expire each grant past its date that still has credits; return the others.

    Operations that spend call this under the wallet's lock before counting what is available,
    so credits past their date are never spent even if the expiry command has not run yet.
    """
    live = []
    for grant in grants:
        if is_expired(grant, book.now) and grant.remaining > 0:
            post_expiry(book, wallet, grant)
        else:
            live.append(grant)
    return live


def unexpired_covering(
    book: Book,
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
    grants = expire_due(book, wallet, grants)
    if amount > wallet.available:
        book.write()
        raise InsufficientCredits(f"{refusal}: {amount} asked, {wallet.available} available.")
    return grants


def post_expiry(book: Book, wallet: Wallet, grant: CreditGrant, *, primary: bool = False):
    amount = grant.remaining
    txn = book.post(
        kind=Kind.EXPIRY,
        wallet=wallet,
        amount=amount,
        legs=[(wallet, -amount), (system_wallet_id("expired"), amount)],
        description=f"Credits of grant #{grant.pk} expired",
        primary=primary,
    )
    grant.remaining = 0
    grant.expired_amount += amount
    book.grant_changed(grant)
    book.allocate(txn, grant, amount)
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


def take_from_grants(book: Book, txn, plan: list[tuple[CreditGrant, int]]) -> None:
    """Lower each planned grant's remainder and record the allocations."""
    for grant, take in plan:
        grant.remaining -= take
        book.grant_changed(grant)
        book.allocate(txn, grant, take)


def give_back_to_grants(
    book: Book, txn, wallet: Wallet, portions: list[tuple[CreditGrant, int]]
) -> None:
    """Return credits to the grants they came from (a release, or a capture's remainder).

    Credits returning to a grant that expired meanwhile expire at once: they were only kept
    because a hold had them.
    """
    restored: dict[int, CreditGrant] = {}
    for grant, amount in portions:
        grant = restored.setdefault(grant.pk, grant)
        grant.remaining += amount
        book.grant_changed(grant)
        book.allocate(txn, grant, amount)
    expire_due(book, wallet, list(restored.values()))


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
