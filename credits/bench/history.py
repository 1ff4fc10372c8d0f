"""The history benchmark: a wallet whose history holds N entries, built with set-based SQL
(seconds, not the hours the services would take) exactly as the services would have written
it, so `reconcile()` finds it clean; then timed reads of it."""

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone

from credits import services
from credits.bench.spends import ENTRY_TABLE, WALLET_TABLE
from credits.models import Allocation, CreditGrant, CreditTransaction, Wallet

TRANSACTION_TABLE = CreditTransaction._meta.db_table
GRANT_TABLE = CreditGrant._meta.db_table
ALLOCATION_TABLE = Allocation._meta.db_table
HISTORY_TABLES = [WALLET_TABLE, TRANSACTION_TABLE, ENTRY_TABLE, GRANT_TABLE, ALLOCATION_TABLE]
HISTORY_RUNS = 5  # timings are the best of this many runs
MIN_HISTORY_SIZE = 4  # a grant's two legs and one spend's two legs

# A block of ids taken from a table's sequence at once, so that rows inserted from one
# generate_series get ids in the order the ledger needs (running balances follow entry ids).
RESERVE_IDS = (
    "SELECT setval(seq, nextval(seq) + %(count)s - 1) - %(count)s + 1 "
    "FROM (SELECT pg_get_serial_sequence(%(table)s, 'id')::regclass AS seq) AS sequence"
)
# Columns every transaction row fills; the nullable ones (reference, actor, hold...) stay NULL.
TRANSACTION_COLUMNS = (
    "id, kind, wallet_id, amount, description, reference, reference_id, metadata, "
    "actor_kind, actor_label, created_at"
)
HISTORY_GRANT_TRANSACTION = (
    f"INSERT INTO {TRANSACTION_TABLE} ({TRANSACTION_COLUMNS}) VALUES "
    "(%(txn)s, 'grant', %(wallet)s, %(grant)s, 'bench history', '', '', '{}', 'system', "
    "'bench', %(start)s)"
)
HISTORY_SPEND_TRANSACTIONS = (
    f"INSERT INTO {TRANSACTION_TABLE} ({TRANSACTION_COLUMNS}) "
    "SELECT %(txn)s + i, 'spend', %(wallet)s, 1, 'bench history', '', '', '{}', 'system', "
    "'bench', %(start)s + i * %(step)s * interval '1 second' "
    "FROM generate_series(1, %(spends)s) AS i"
)
HISTORY_GRANT_ENTRIES = (
    f"INSERT INTO {ENTRY_TABLE} (id, transaction_id, wallet_id, amount, balance_after, created_at) "
    "VALUES (%(entry)s, %(txn)s, %(purchases)s, -%(grant)s, NULL, %(start)s), "
    "(%(entry)s + 1, %(txn)s, %(wallet)s, %(grant)s, %(grant)s, %(start)s)"
)
# Spend i: the wallet's leg (id entry + 2i, -1, balance grant - i), then consumption's (+1).
HISTORY_SPEND_ENTRIES = (
    f"INSERT INTO {ENTRY_TABLE} (id, transaction_id, wallet_id, amount, balance_after, created_at) "
    "SELECT %(entry)s + 2 * i + leg, %(txn)s + i, "
    "CASE leg WHEN 0 THEN %(wallet)s ELSE %(consumption)s END, "
    "CASE leg WHEN 0 THEN -1 ELSE 1 END, "
    "CASE leg WHEN 0 THEN %(grant)s - i END, "
    "%(start)s + i * %(step)s * interval '1 second' "
    "FROM generate_series(1, %(spends)s) AS i CROSS JOIN (VALUES (0), (1)) AS legs (leg) "
    "ORDER BY i, leg"
)
HISTORY_GRANT = (
    f"INSERT INTO {GRANT_TABLE} (wallet_id, source, amount, remaining, expired_amount, "
    "priority, is_promotional, currency, transaction_id, created_at) "
    "VALUES (%(wallet)s, 'purchase', %(grant)s, %(grant)s - %(spends)s, 0, 50, false, '', "
    "%(txn)s, %(start)s) RETURNING id"
)
HISTORY_ALLOCATIONS = (
    f"INSERT INTO {ALLOCATION_TABLE} (transaction_id, grant_id, amount) "
    "SELECT %(txn)s + i, %(grant_id)s, 1 FROM generate_series(1, %(spends)s) AS i"
)
HISTORY_BALANCE = (
    f"UPDATE {WALLET_TABLE} SET balance = %(grant)s - %(spends)s WHERE id = %(wallet)s"
)


def history_sizes(text: str) -> list[int]:
    """`--history-sizes 10000,1000000`: distinct even sizes, smallest first (empty = none)."""
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers: {exc}") from exc
    for size in sizes:
        if size < MIN_HISTORY_SIZE or size % 2:
            raise argparse.ArgumentTypeError(
                f"each size is a total of entries, two per transaction: an even number of at "
                f"least {MIN_HISTORY_SIZE} (got {size})"
            )
    return sizes


@dataclass
class LongHistory:
    """A wallet built with `size` entries: one purchase grant, then `spends` spends of 1."""

    wallet_id: int
    size: int
    spends: int
    middle_entry_id: int  # the wallet's leg of the middle spend: where a "deep page" starts


def reserve_ids(cursor: CursorWrapper, table: str, count: int) -> int:
    """The first of `count` consecutive ids now taken from `table`'s sequence (nobody else writes
    to the bench database meanwhile, and a sequence hands out each value once anyway)."""
    cursor.execute(RESERVE_IDS, {"table": table, "count": count})
    (first,) = cursor.fetchone()
    return first


def build_long_history(size: int) -> LongHistory:
    """A new user wallet whose history holds `size` entries (both legs of each transaction), as
    the services would have written them, so `reconcile()` finds it clean.

    Set-based SQL only (INSERT ... SELECT FROM generate_series), one transaction: a million
    entries through the services would take hours. The grant is twice the spends, so the wallet
    never runs dry and keeps half its credits.
    """
    spends = size // 2 - 1
    grant = 2 * spends
    users = get_user_model().objects
    with transaction.atomic():
        user = users.create_user(email=f"bench-history-{size}@bench.test")
        wallet_id = Wallet.objects.values_list("pk", flat=True).get(user=user)
        with connection.cursor() as cursor:
            params: dict[str, Any] = {
                "wallet": wallet_id,
                "purchases": services.system_wallet_id("purchases"),
                "consumption": services.system_wallet_id("consumption"),
                "grant": grant,
                "spends": spends,
                "start": history_start(spends),
                "step": history_step(spends),
                "txn": reserve_ids(cursor, TRANSACTION_TABLE, spends + 1),
                "entry": reserve_ids(cursor, ENTRY_TABLE, 2 * spends + 2),
            }
            cursor.execute(HISTORY_GRANT_TRANSACTION, params)
            cursor.execute(HISTORY_SPEND_TRANSACTIONS, params)
            cursor.execute(HISTORY_GRANT_ENTRIES, params)
            cursor.execute(HISTORY_SPEND_ENTRIES, params)
            cursor.execute(HISTORY_GRANT, params)
            (params["grant_id"],) = cursor.fetchone()
            cursor.execute(HISTORY_ALLOCATIONS, params)
            cursor.execute(HISTORY_BALANCE, params)
    return LongHistory(
        wallet_id=wallet_id,
        size=size,
        spends=spends,
        middle_entry_id=params["entry"] + 2 * max(spends // 2, 1),
    )


# A built history spans more than a year, as a real one does: the dashboard's months that ended
# hold most of it.
HISTORY_SPAN = timedelta(days=400)


def history_step(spends: int) -> float:
    """Seconds between two transactions of a built history."""
    return HISTORY_SPAN.total_seconds() / (spends + 1)


def history_start(spends: int) -> datetime:
    """When the history begins: evenly spread over HISTORY_SPAN, the last one a step ago."""
    return timezone.now() - timedelta(seconds=(spends + 1) * history_step(spends))


def analyze_ledger() -> None:
    """Fresh statistics, as autovacuum would give a table that grew: plans must use the indexes."""
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(HISTORY_TABLES)}")


def best_ms(action: Callable[[], object], runs: int = HISTORY_RUNS) -> float:
    """The fastest of `runs` calls, in milliseconds: the cost of the work, not of a noisy box."""
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        timings.append(time.perf_counter() - began)
    return min(timings) * 1000


def read_balance(wallet_id: int) -> int:
    """What a balance page reads: the wallet row and its available credits."""
    return Wallet.objects.get(pk=wallet_id).available
