"""Row locks and idempotency claims: the only reads an operation makes under its locks.

An operation claims its key and locks the user wallets it touches (FOR UPDATE, in id order),
then reads their grants; on PostgreSQL a spend's claim, lock and read are one statement.
"""

import functools

from django.db import connection

from credits.errors import InvalidRequest
from credits.models import CreditGrant, IdempotencyRecord, Wallet
from credits.services.posting import prepared_cursor

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
    claim_row: list, wallet_id: int
) -> tuple[int | None, Wallet, list[CreditGrant]]:
    """Claim an idempotency key, lock a wallet and read its spendable grants.

    On PostgreSQL this is one statement. Its grants come from the statement's snapshot, which is
    stale if it had to wait for the lock; the join of the wallet with itself, unlocked, tells:
    the unlocked copy is the row as the snapshot saw it, the locked one the row as it is now. The
    same tuple (ctid) means no one changed the wallet in between, and since every change to a
    grant updates its wallet's row in the same transaction (the posting enforces it), the grants are
    current. Otherwise they are read again.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(CLAIM_SQL, claim_row)
            found = cursor.fetchone()
        wallet, grants = lock_wallet_with_grants(wallet_id)
        return (found[0] if found else None), wallet, grants
    width = len(WALLET_COLUMNS)
    with prepared_cursor() as cursor:
        cursor.execute(_claim_and_lock_sql(), [*claim_row, wallet_id])
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
def _claim_and_lock_sql() -> str:
    """The statement's text, made once per process: the hot path should not rebuild it."""
    return (
        f"WITH claim AS ({CLAIM_SQL}) "
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


# ON CONFLICT DO NOTHING waits for a concurrent claim of the same key to finish, then either
# inserts (it rolled back) or returns no row (it committed).
CLAIM_SQL = (
    f"INSERT INTO {IdempotencyRecord._meta.db_table} "
    "(scope, key, operation, fingerprint, refusal_code, refusal_message, created_at) "
    "VALUES (%s, %s, %s, %s, '', '', CURRENT_TIMESTAMP) "
    "ON CONFLICT (scope, key) DO NOTHING RETURNING id"
)


def claim(row: list) -> int | None:
    """Insert the key's record; its id, or None if the key was already taken."""
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, row)
        found = cursor.fetchone()
    return found[0] if found else None
