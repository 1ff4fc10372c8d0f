"""Proof that the ledger adds up: every invariant of the design, checked in set-based SQL.

Each check is one query over whole tables (no Python loop over rows), so a ledger of a million
entries is checked in seconds. Used by `manage.py credits_reconcile` and by the tests.
"""

from dataclasses import dataclass

from django.db import connection

from credits.models import CreditGrant, Entry, Hold, Wallet

WALLET = Wallet._meta.db_table
ENTRY = Entry._meta.db_table
GRANT = CreditGrant._meta.db_table
HOLD = Hold._meta.db_table

# Each check: a name, the query for the rows that break the invariant, and how to say so.
CHECKS = [
    (
        "transaction sums to zero",
        f"SELECT transaction_id, SUM(amount) FROM {ENTRY} "
        "GROUP BY transaction_id HAVING SUM(amount) <> 0 ORDER BY transaction_id",
        "transaction #{0}: its entries sum to {1}, not 0",
    ),
    (
        "balance = Σ entries",
        f"SELECT w.id, w.balance, COALESCE(e.total, 0) FROM {WALLET} w "
        f"LEFT JOIN (SELECT wallet_id, SUM(amount) AS total FROM {ENTRY} GROUP BY wallet_id) e "
        "ON e.wallet_id = w.id "
        "WHERE w.kind = 'user' AND w.balance <> COALESCE(e.total, 0) ORDER BY w.id",
        "wallet #{0}: balance {1} but its entries sum to {2}",
    ),
    (
        "balance = Σ grant remainders + held",
        f"SELECT w.id, w.balance, COALESCE(g.total, 0), w.held FROM {WALLET} w "
        f"LEFT JOIN (SELECT wallet_id, SUM(remaining) AS total FROM {GRANT} GROUP BY wallet_id) g "
        "ON g.wallet_id = w.id "
        "WHERE w.kind = 'user' AND w.balance <> COALESCE(g.total, 0) + w.held ORDER BY w.id",
        "wallet #{0}: balance {1} but grant remainders {2} + held {3} differ",
    ),
    (
        "held = Σ open holds",
        f"SELECT w.id, w.held, COALESCE(h.total, 0) FROM {WALLET} w "
        f"LEFT JOIN (SELECT wallet_id, SUM(amount - captured_amount) AS total FROM {HOLD} "
        "WHERE status = 'open' GROUP BY wallet_id) h ON h.wallet_id = w.id "
        "WHERE w.kind = 'user' AND w.held <> COALESCE(h.total, 0) ORDER BY w.id",
        "wallet #{0}: held {1} but its open holds reserve {2}",
    ),
    (
        "0 <= remaining <= amount",
        f"SELECT id, remaining, amount FROM {GRANT} "
        "WHERE remaining < 0 OR remaining > amount ORDER BY id",
        "grant #{0}: remaining {1} outside 0..{2}",
    ),
    (
        "0 <= held <= balance",
        f"SELECT id, held, balance FROM {WALLET} WHERE held < 0 OR held > balance ORDER BY id",
        "wallet #{0}: held {1} outside 0..balance {2}",
    ),
    (
        "system accounts are never updated",
        f"SELECT id, system_code, balance, held FROM {WALLET} "
        "WHERE kind = 'system' AND (balance <> 0 OR held <> 0) ORDER BY id",
        "system account #{0} ({1}): cached balance {2}, held {3}; both must stay 0",
    ),
    (
        "running balances",
        "SELECT id, wallet_id, balance_after, running FROM ("
        "SELECT e.id, e.wallet_id, e.balance_after, "
        "SUM(e.amount) OVER (PARTITION BY e.wallet_id ORDER BY e.id) AS running "
        f"FROM {ENTRY} e JOIN {WALLET} w ON w.id = e.wallet_id WHERE w.kind = 'user'"
        ") legs WHERE balance_after IS NULL OR balance_after <> running ORDER BY id",
        "entry #{0} (wallet #{1}): balance after {2}, but the running sum is {3}",
    ),
    (
        "every leg's account exists",
        f"SELECT e.id, e.wallet_id FROM {ENTRY} e LEFT JOIN {WALLET} w ON w.id = e.wallet_id "
        "WHERE w.id IS NULL ORDER BY e.id",
        "entry #{0}: wallet #{1} does not exist",
    ),
    (
        "the ledger sums to zero",
        f"SELECT SUM(amount) FROM {ENTRY} HAVING SUM(amount) <> 0",
        "all entries together sum to {0}, not 0",
    ),
]

MAX_LINES_PER_CHECK = 100


@dataclass
class Report:
    problems: list[str]
    checks: int
    wallets: int
    entries: int

    @property
    def clean(self) -> bool:
        return not self.problems


def reconcile() -> Report:
    """Run every check; each problem is one readable line."""
    problems = []
    with connection.cursor() as cursor:
        for name, query, message in CHECKS:
            cursor.execute(query)
            rows = cursor.fetchmany(MAX_LINES_PER_CHECK + 1)
            for row in rows[:MAX_LINES_PER_CHECK]:
                problems.append(f"[{name}] " + message.format(*row))
            if len(rows) > MAX_LINES_PER_CHECK:
                extra = len(rows) - MAX_LINES_PER_CHECK + len(cursor.fetchall())
                problems.append(f"[{name}] … and {extra} more")
        cursor.execute(f"SELECT COUNT(*) FROM {WALLET} WHERE kind = 'user'")
        (wallets,) = cursor.fetchone()
        cursor.execute(f"SELECT COUNT(*) FROM {ENTRY}")
        (entries,) = cursor.fetchone()
    return Report(problems=problems, checks=len(CHECKS), wallets=wallets, entries=entries)
