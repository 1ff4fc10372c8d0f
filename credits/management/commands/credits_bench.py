"""`manage.py credits_bench`: how fast `credits.services.spend` is on PostgreSQL, and what it costs.

Four timed runs of N threads for T seconds each: the service across many wallets, the service on
one hot wallet, then a raw baseline of the same two workloads (one `UPDATE ... WHERE available >=
amount` and one two-row `INSERT` of entries through psycopg, in one transaction). The ratio
service/baseline says how much the service's bookkeeping (idempotency key, transaction row,
grants burn-down, allocations) costs over the bare write pattern.

Everything happens in a database of its own, created, migrated and dropped by the command as
Django's test runner does, so real data is never touched.
"""

import math
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections, transaction
from django.test.utils import override_settings

from credits import services
from credits.actors import Actor
from credits.models import CreditTransaction, Entry, Wallet
from credits.reconciliation import reconcile

ACTOR = Actor.system("bench")
FUNDING = 10**9  # credits per wallet: no run can drain it
AMOUNT = 1  # credits per spend

WALLET_TABLE = Wallet._meta.db_table
ENTRY_TABLE = Entry._meta.db_table
BASELINE_DEBIT = (
    f"UPDATE {WALLET_TABLE} SET balance = balance - %s "
    "WHERE id = %s AND balance - held >= %s RETURNING balance"
)
BASELINE_ENTRIES = (
    f"INSERT INTO {ENTRY_TABLE} (transaction_id, wallet_id, amount, balance_after, created_at) "
    "VALUES (%s, %s, %s, %s, now()), (%s, %s, %s, NULL, now())"
)


class Spender(Protocol):
    """One thread's way of spending: it owns that thread's database connection."""

    def connect(self) -> None: ...

    def spend(self, wallet: Wallet) -> None: ...

    def close(self) -> None: ...


class ServiceSpender:
    """Spends through `credits.services.spend`, on the thread's own Django connection."""

    def connect(self) -> None:
        # Connect before the start line, so connecting is not timed as a spend.
        connection.ensure_connection()

    def spend(self, wallet: Wallet) -> None:
        services.spend(
            wallet=wallet,
            amount=AMOUNT,
            actor=ACTOR,
            idempotency_key=uuid.uuid4().hex,
            description="bench",
        )

    def close(self) -> None:
        # Each thread has its own connections; an open one would stop the database being dropped.
        connections.close_all()


class BaselineRefused(Exception):
    """The baseline's UPDATE matched no row (not enough credits): counted as an error."""


class BaselineSpender:
    """The write pattern of a spend, hand-written: debit the wallet, insert two entries, commit.

    Every entry points at one transaction made in setup: this measures the writes, it is not a
    real posting (the ledger no longer reconciles afterwards, which is why it runs last).
    """

    def __init__(self, conninfo: dict[str, Any], transaction_id: int, consumption_id: int) -> None:
        self.conninfo = conninfo
        self.transaction_id = transaction_id
        self.consumption_id = consumption_id
        self.conn: psycopg.Connection | None = None

    def connect(self) -> None:
        self.conn = psycopg.connect(**self.conninfo)

    def spend(self, wallet: Wallet) -> None:
        if self.conn is None:
            raise RuntimeError("BaselineSpender.spend() before connect()")
        try:
            with self.conn.cursor() as cursor:
                cursor.execute(BASELINE_DEBIT, [AMOUNT, wallet.pk, AMOUNT])
                row = cursor.fetchone()
                if row is None:
                    raise BaselineRefused(f"wallet #{wallet.pk} has too few credits")
                cursor.execute(
                    BASELINE_ENTRIES,
                    [
                        *(self.transaction_id, wallet.pk, -AMOUNT, row[0]),
                        *(self.transaction_id, self.consumption_id, AMOUNT),
                    ],
                )
            self.conn.commit()
        except BaseException:
            self.conn.rollback()
            raise

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


@dataclass
class ThreadTally:
    """What one worker thread measured; the main thread reads it after joining."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    finished: float = 0.0

    def record_error(self, exc: BaseException) -> None:
        self.errors += 1
        if not self.first_error:
            self.first_error = f"{type(exc).__name__}: {exc}".splitlines()[0]


@dataclass
class RunResult:
    """One timed run: every thread's latencies together, its errors and its wall time."""

    label: str
    latencies: list[float]
    errors: int
    first_error: str
    elapsed: float

    @property
    def ops(self) -> int:
        return len(self.latencies)

    @property
    def ops_per_second(self) -> float:
        return self.ops / self.elapsed if self.elapsed > 0 else 0.0

    def percentile_ms(self, fraction: float) -> float:
        """Nearest-rank percentile, in milliseconds (latencies are sorted on creation)."""
        if not self.latencies:
            return math.nan
        rank = max(math.ceil(fraction * len(self.latencies)), 1)
        return self.latencies[rank - 1] * 1000


def worker(
    spender: Spender,
    pick: Callable[[], Wallet],
    start_line: threading.Barrier,
    clock: dict[str, float],
    seconds: float,
    stop: threading.Event,
    tally: ThreadTally,
) -> None:
    """Spend as fast as possible from the common start until the deadline (or a stop)."""
    try:
        try:
            spender.connect()
        except Exception:
            start_line.abort()  # the other threads must not wait for this one forever
            raise
        start_line.wait()
        deadline = clock["start"] + seconds
        while not stop.is_set() and (began := time.perf_counter()) < deadline:
            try:
                spender.spend(pick())
            except Exception as exc:
                tally.record_error(exc)
            else:
                tally.latencies.append(time.perf_counter() - began)
        tally.finished = time.perf_counter()
    except threading.BrokenBarrierError:
        tally.record_error(RuntimeError("another thread could not connect"))
    except Exception as exc:
        tally.record_error(exc)
    finally:
        spender.close()


def timed_run(
    label: str,
    *,
    threads: int,
    seconds: float,
    make_spender: Callable[[], Spender],
    make_picker: Callable[[], Callable[[], Wallet]],
) -> RunResult:
    """Run `threads` workers together for `seconds`; throughput is over the real wall time."""
    clock: dict[str, float] = {}
    start_line = threading.Barrier(threads, action=lambda: clock.update(start=time.perf_counter()))
    stop = threading.Event()
    tallies = [ThreadTally() for _ in range(threads)]
    workers = [
        threading.Thread(
            target=worker,
            args=(make_spender(), make_picker(), start_line, clock, seconds, stop, tally),
            name=f"credits-bench-{index}",
        )
        for index, tally in enumerate(tallies)
    ]
    for thread in workers:
        thread.start()
    try:
        for thread in workers:
            thread.join()
    finally:
        # On Ctrl-C, stop the workers so their connections close before the database is dropped.
        stop.set()
        for thread in workers:
            thread.join()
    ended = max((tally.finished for tally in tallies), default=0.0)
    return RunResult(
        label=label,
        latencies=sorted(latency for tally in tallies for latency in tally.latencies),
        errors=sum(tally.errors for tally in tallies),
        first_error=next((tally.first_error for tally in tallies if tally.first_error), ""),
        elapsed=ended - clock["start"] if "start" in clock and ended else 0.0,
    )


def random_picker(wallets: list[Wallet]) -> Callable[[], Wallet]:
    """A wallet chosen at random for each spend (a generator per thread: no shared state)."""
    rng = random.Random()  # noqa: S311 (load spreading, not cryptography)
    return lambda: rng.choice(wallets)


def fixed_picker(wallet: Wallet) -> Callable[[], Wallet]:
    return lambda: wallet


def fund_wallets(count: int) -> tuple[list[Wallet], Wallet]:
    """`count` wallets plus one hot wallet, each granted FUNDING credits through the service.

    One database transaction for the whole setup: a thousand commits would cost more than the
    work itself.
    """
    users = get_user_model().objects
    with transaction.atomic():
        # A user's wallet is opened by a post_save signal; no password means none to hash.
        created = [users.create_user(email=f"bench{index}@bench.test") for index in range(count)]
        hot_user = users.create_user(email="bench-hot@bench.test")
        wallets = list(Wallet.objects.filter(user__in=created).order_by("pk"))
        hot = Wallet.objects.get(user=hot_user)
        for wallet in [*wallets, hot]:
            services.grant(
                wallet=wallet,
                amount=FUNDING,
                source="purchase",
                actor=ACTOR,
                idempotency_key=f"bench-fund-{wallet.pk}",
            )
    return wallets, hot


def baseline_conninfo(settings_dict: dict[str, Any]) -> dict[str, Any]:
    """psycopg connection parameters for the bench database, from Django's settings."""
    params = {
        "dbname": settings_dict["NAME"],
        "user": settings_dict.get("USER"),
        "password": settings_dict.get("PASSWORD"),
        "host": settings_dict.get("HOST"),
        "port": str(settings_dict["PORT"]) if settings_dict.get("PORT") else None,
    }
    return {key: value for key, value in params.items() if value}


def format_ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}"


def ratio(service: RunResult, baseline: RunResult) -> float:
    return service.ops_per_second / baseline.ops_per_second


class Command(BaseCommand):
    help = (
        "Benchmark credit spends on PostgreSQL: N threads spending for T seconds across many "
        "wallets, then on one hot wallet, through credits.services.spend and through a raw SQL "
        "baseline; prints ops/s, p50/p99 latency and the ratio service/baseline. Works in a "
        "database of its own (<name>_bench), created, migrated and dropped by the command."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
        parser.add_argument(
            "--seconds", type=float, default=10.0, help="seconds per run, four runs (default 10)"
        )
        parser.add_argument(
            "--wallets", type=int, default=1000, help="wallets spent across (default 1000)"
        )

    def handle(self, *args: Any, threads: int, seconds: float, wallets: int, **options: Any):
        if connection.vendor != "postgresql":
            raise CommandError("credits_bench needs PostgreSQL (DATABASE_URL)")
        if threads < 1:
            raise CommandError(f"--threads must be at least 1 (got {threads}).")
        if not seconds > 0 or not math.isfinite(seconds):
            raise CommandError(f"--seconds must be a positive number (got {seconds}).")
        if wallets < 1:
            raise CommandError(f"--wallets must be at least 1 (got {wallets}).")

        started = time.perf_counter()
        old_name = connection.settings_dict["NAME"]
        test_settings = connection.settings_dict.setdefault("TEST", {})
        old_test_name = test_settings.get("NAME")
        test_settings["NAME"] = f"{old_name}_bench"
        try:
            # Measured as production runs: with DEBUG on, Django would log every query.
            with override_settings(DEBUG=False):
                connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
                services.forget_system_wallets()  # any cached ids belong to the real database
                across_ratio = self.bench(threads=threads, seconds=seconds, wallet_count=wallets)
        finally:
            if connection.settings_dict["NAME"] != old_name:
                connection.creation.destroy_test_db(old_name, verbosity=0)
            test_settings["NAME"] = old_test_name
            services.forget_system_wallets()
        self.stdout.write(f"(whole command: {time.perf_counter() - started:.1f} s)")
        self.stdout.write(f"service/baseline across wallets: {across_ratio:.2f}")

    def bench(self, *, threads: int, seconds: float, wallet_count: int) -> float:
        """Setup, the two service runs, reconcile, the two baseline runs; the ratio across wallets.

        The hot-wallet ratio is printed here; the caller prints the other one last, once the
        database is dropped.
        """
        self.stdout.write(
            f"credits_bench: {threads} threads, {seconds:g} s per run, {wallet_count} wallets "
            f"and 1 hot wallet, in database {connection.settings_dict['NAME']} (dropped after)"
        )
        setup_started = time.perf_counter()
        wallets, hot = fund_wallets(wallet_count)
        consumption_id = services.system_wallet_id("consumption")  # cached before threads start
        shared_txn: CreditTransaction = services.spend(
            wallet=hot, amount=AMOUNT, actor=ACTOR, idempotency_key="bench-baseline-transaction"
        )
        conninfo = baseline_conninfo(connection.settings_dict)
        setup_seconds = time.perf_counter() - setup_started
        self.stdout.write(f"setup: {wallet_count + 1} wallets funded in {setup_seconds:.1f} s")
        self.stdout.write(
            f"{'run':<26}{'ops':>9}{'ops/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        )

        def run(
            label: str,
            make_spender: Callable[[], Spender],
            picker: Callable[[], Callable[[], Wallet]],
        ) -> RunResult:
            result = timed_run(
                label,
                threads=threads,
                seconds=seconds,
                make_spender=make_spender,
                make_picker=picker,
            )
            self.report(result)
            return result

        def baseline_spender() -> Spender:
            return BaselineSpender(conninfo, shared_txn.pk, consumption_id)

        service_across = run(
            "service / across wallets", ServiceSpender, lambda: random_picker(wallets)
        )
        service_hot = run("service / hot wallet", ServiceSpender, lambda: fixed_picker(hot))
        self.report_reconcile()
        baseline_across = run(
            "baseline / across wallets", baseline_spender, lambda: random_picker(wallets)
        )
        baseline_hot = run("baseline / hot wallet", baseline_spender, lambda: fixed_picker(hot))

        for result in (service_across, service_hot, baseline_across, baseline_hot):
            if not result.ops:
                raise CommandError(f"{result.label}: no spend succeeded ({result.first_error}).")
        self.stdout.write(f"service/baseline hot wallet: {ratio(service_hot, baseline_hot):.2f}")
        return ratio(service_across, baseline_across)

    def report(self, result: RunResult) -> None:
        self.stdout.write(
            f"{result.label:<26}{result.ops:>9}{result.ops_per_second:>10.1f}"
            f"{format_ms(result.percentile_ms(0.50)):>9}{format_ms(result.percentile_ms(0.99)):>9}"
            f"{result.errors:>8}"
        )
        if result.errors:
            self.stdout.write(f"  first error: {result.first_error}")

    def report_reconcile(self) -> None:
        """The service runs must leave a ledger that adds up (the baseline runs cannot)."""
        report = reconcile()
        if report.clean:
            self.stdout.write(
                f"reconcile after the service runs: clean ({report.checks} checks over "
                f"{report.wallets} wallets and {report.entries} entries)"
            )
            return
        self.stdout.write(
            f"reconcile after the service runs: {len(report.problems)} discrepancies, e.g."
        )
        for problem in report.problems[:5]:
            self.stdout.write(f"  {problem}")
