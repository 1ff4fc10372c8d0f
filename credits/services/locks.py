"""Row locks and idempotency claims: the only reads an operation makes under its locks.

An operation claims its key and locks the user wallets it touches (FOR UPDATE, in id order),
then reads their grants; on PostgreSQL a spend's claim, lock and read are one statement.
"""

import functools
from dataclasses import dataclass

from django.db import connection

from core.rows import Columns
from credits.errors import InvalidRequest
from credits.models import CreditGrant, CreditTransaction, IdempotencyRecord, Wallet
from credits.services.posting import prepared_cursor

# ON CONFLICT DO NOTHING waits for a concurrent claim of the same key to finish, then either
# inserts (it rolled back) or returns no row (it committed). On PostgreSQL a new claim also takes
# the id its operation's transaction will have, so what the API answers (which names it) can be
# written in the same statement as the work.
CLAIM_SQL = (
    f"INSERT INTO {IdempotencyRecord._meta.db_table} "
    "(scope, key, operation, fingerprint, refusal_code, refusal_message, request_fingerprint, "
    "response_body, created_at) "
    "VALUES (%s, %s, %s, %s, '', '', '', '', %s) "
    "ON CONFLICT (scope, key) DO NOTHING RETURNING id"
)


@functools.cache
def _reserve_transaction_id() -> str:
    """`, nextval('<the transactions' id sequence>')`: its name looked up once per process, so
    the hot statement does not ask the catalogue on every spend."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_serial_sequence(%s, 'id')", [CreditTransaction._meta.db_table]
        )
        (sequence,) = cursor.fetchone()
    literal = "'" + sequence.replace("'", "''") + "'"  # a name from the catalogue, quoted
    return f", nextval({literal}::regclass)"


@dataclass(frozen=True)
class Claimed:
    """A key's record, new (`record_id`) or not (None), and the id reserved for its operation's
    transaction (PostgreSQL only; None on SQLite, where the database gives it on insert)."""

    record_id: int | None
    transaction_id: int | None = None


def _claim_sql() -> str:
    if connection.vendor == "postgresql":
        return CLAIM_SQL + _reserve_transaction_id()
    return CLAIM_SQL


def claim(row: list) -> Claimed:
    """Insert the key's record; None as its id if the key was already taken."""
    with connection.cursor() as cursor:
        cursor.execute(_claim_sql(), row)
        found = cursor.fetchone()
    return Claimed(*found) if found else Claimed(None)


# Both in the models' field order, as Model.from_db needs.
# `alerts` too: the low-balance thresholds travel with the row every posting locks anyway.
WALLET_COLUMNS = ("id", "kind", "user_id", "balance", "held", "status", "alerts")
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
# Rows back as the ORM builds them (core.rows): columns left out load if ever asked for.
WALLET_ROW = Columns(Wallet, WALLET_COLUMNS)
GRANT_ROW = Columns(CreditGrant, GRANT_COLUMNS)
WALLET_TABLE = Wallet._meta.db_table
GRANT_TABLE = CreditGrant._meta.db_table
# The burn-down order (see selectors.grants_in_burn_down_order, which shows it to people).
BURN_DOWN_ORDER = "g.priority, g.expires_at NULLS LAST, g.is_promotional DESC, g.id"


def _for_update() -> str:
    if not connection.features.has_select_for_update:
        return ""  # SQLite: the IMMEDIATE transaction already holds the database's write lock
    return " FOR UPDATE"


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
        wallets = {row[0]: WALLET_ROW.build(row) for row in cursor.fetchall()}
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
        return [GRANT_ROW.build(row) for row in cursor.fetchall()]


def claim_and_lock_wallet(
    claim_row: list, wallet_id: int
) -> tuple[Claimed, Wallet, list[CreditGrant]]:
    """Claim an idempotency key, lock a wallet and read its spendable grants.

    On PostgreSQL this is one statement. Its grants come from the statement's snapshot, which is
    stale if it had to wait for the lock; the join of the wallet with itself, unlocked, tells:
    the unlocked copy is the row as the snapshot saw it, the locked one the row as it is now. The
    same tuple (ctid) means no one changed the wallet in between, and since every change to a
    grant updates its wallet's row in the same transaction (the posting enforces it), the grants are
    current. Otherwise they are read again.
    """
    if connection.vendor != "postgresql":
        claimed = claim(claim_row)
        wallet, grants = lock_wallet_with_grants(wallet_id)
        return claimed, wallet, grants
    width = len(WALLET_COLUMNS)
    with prepared_cursor() as cursor:
        cursor.execute(_claim_and_lock_sql(), [*claim_row, wallet_id])
        rows = cursor.fetchall()
    if not rows:
        raise InvalidRequest("No such wallet.")
    claimed, current = Claimed(rows[0][0], rows[0][1]), rows[0][2]
    wallet = WALLET_ROW.build(rows[0][3 : 3 + width])
    if not current:
        return claimed, wallet, spendable_grants(wallet_id)
    grants = [GRANT_ROW.build(row[3 + width :]) for row in rows if row[3 + width] is not None]
    return claimed, wallet, grants


@functools.cache
def _claim_and_lock_sql() -> str:
    """The statement's text, made once per process: the hot path should not rebuild it."""
    return (
        f"WITH claim AS ({CLAIM_SQL}{_reserve_transaction_id()} AS transaction_id) "
        "SELECT (SELECT id FROM claim), (SELECT transaction_id FROM claim), w.ctid = seen.ctid, "
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
        return wallet, GRANT_ROW.build(cursor.fetchone())
