"""`manage.py credits_bench`: how fast `credits.services.spend` is on PostgreSQL, and what it costs.

Four timed runs of N threads for T seconds each: the service across many wallets, the service on
one hot wallet, then a raw baseline of the same two workloads (one `UPDATE ... WHERE available >=
amount` and one two-row `INSERT` of entries through psycopg, in one transaction). The ratio
service/baseline says how much the service's bookkeeping (idempotency key, transaction row,
grants burn-down, allocations) costs over the bare write pattern.

With `--history-sizes 10000,1000000`, it first builds one wallet per size whose history holds
that many entries (set-based SQL, seconds not hours), then times reading its balance, its first
page of history and a page deep in it, and `reconcile()` over the whole database: both must stay
fast as history grows. It also requests, as the wallet's user, the dashboard and history pages
(server time and SQL queries) and the CSV statement of the whole history (rows, bytes, time and
peak Python memory while streaming it). `--skip-spends` runs only that phase.

Everything happens in a database of its own, created, migrated and dropped by the command as
Django's test runner does, so real data is never touched.
"""

import argparse
import math
import random
import threading
import time
import tracemalloc
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import psycopg
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, connections, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Min
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from config.scratch_database import scratch_database
from credits import services
from credits.actors import Actor
from credits.models import Allocation, CreditGrant, CreditTransaction, Entry, Wallet
from credits.reconciliation import Report, reconcile
from credits.selectors import history_page

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


# --- History phase: one wallet with a long history, built in SQL, then read and reconciled. ---

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


# --- History phase, through the pages: what the wallet's user waits for. ---


@contextmanager
def page_settings() -> Iterator[None]:
    """Requests as the test client makes them: host "testserver", plain HTTP, and static files
    named without the manifest that `collectstatic` writes (the bench does not run it, so
    whitenoise's warning that STATIC_ROOT does not exist is noise here)."""
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with (
        override_settings(
            ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False, STORAGES=storages
        ),
        warnings.catch_warnings(),
    ):
        warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
        yield


def signed_in_client(wallet_id: int) -> Client:
    """A client signed in as the wallet's user; a failing view comes back as its 500 response
    (the bench prints it) instead of ending the command."""
    client = Client(raise_request_exception=False)
    client.force_login(Wallet.objects.select_related("user").get(pk=wallet_id).user)
    return client


@dataclass
class PageTiming:
    """One page: its best server time, the SQL queries it runs, and its status if not 200."""

    label: str
    ms: float
    queries: int
    problem: str

    def __str__(self) -> str:
        text = f"{self.label} {self.ms:.1f} ms / {self.queries} queries"
        return f"{text} ({self.problem})" if self.problem else text


def response_problem(response: HttpResponse) -> str:
    """Empty for a 200; else the status, and the exception behind a 500 when there is one."""
    if response.status_code == 200:
        return ""
    exc_info = getattr(response, "exc_info", None)
    if exc_info:
        return f"status {response.status_code}: {exc_info[0].__name__}: {exc_info[1]}"
    return f"status {response.status_code}"


def time_page(client: Client, label: str, url: str) -> PageTiming:
    """Best of HISTORY_RUNS requests, then one more to count queries: counting logs each query,
    which is kept out of the timed runs."""
    ms = best_ms(lambda: client.get(url))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return PageTiming(label, ms, len(queries.captured_queries), response_problem(response))


def first_visit(client: Client, label: str, url: str) -> PageTiming:
    """One request with nothing cached: what the first visit of a month costs (the dashboard
    then reads the months that ended, which later visits take from the cache)."""
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        response = client.get(url)
        ms = (time.perf_counter() - began) * 1000
    return PageTiming(label, ms, len(queries.captured_queries), response_problem(response))


def history_since(wallet_id: int) -> date:
    """The day of the wallet's first movement: built histories start in the past."""
    first = Entry.objects.filter(wallet_id=wallet_id).aggregate(first=Min("created_at"))["first"]
    return timezone.localtime(first).date() if first else timezone.localdate()


@dataclass
class CsvStream:
    """What one streamed statement gave: its lines and bytes, its time, and what went wrong."""

    rows: int
    size: int
    seconds: float
    problem: str


def stream_statement(client: Client, url: str) -> CsvStream:
    """Request the CSV and read it chunk by chunk as a browser would, keeping none of it."""
    rows = size = 0
    began = time.perf_counter()
    response = client.get(url)
    problem = response_problem(response)
    if not problem and not response.streaming:
        problem = "not a streamed response (the form was refused?)"
    if response.streaming:
        for chunk in response.streaming_content:
            size += len(chunk)
            rows += chunk.count(b"\n")
    response.close()
    return CsvStream(rows=rows, size=size, seconds=time.perf_counter() - began, problem=problem)


@dataclass
class CsvExport:
    """The statement streamed twice: plainly for its time, under tracemalloc for its peak."""

    plain: CsvStream
    traced: CsvStream
    peak: int

    def __str__(self) -> str:
        text = (
            f"{self.plain.rows} rows, {self.plain.size / 1e6:.1f} MB in "
            f"{self.plain.seconds:.1f} s ({self.traced.seconds:.1f} s under tracemalloc), "
            f"peak memory {self.peak / 1e6:.1f} MB"
        )
        problem = self.plain.problem or self.traced.problem
        return f"{text} ({problem})" if problem else text


def export_statement(client: Client, since: date, until: date) -> CsvExport:
    """Stream the CSV statement twice. The peak Python memory says whether the export holds the
    history at once; tracemalloc's bookkeeping slows every allocation (several times over, per
    row), so the time that counts is that of the run without it."""
    url = f"{reverse('credits:statement')}?since={since}&until={until}"
    plain = stream_statement(client, url)
    tracemalloc.start()
    try:
        traced = stream_statement(client, url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return CsvExport(plain=plain, traced=traced, peak=peak)


class Command(BaseCommand):
    help = (
        "Benchmark credit spends on PostgreSQL: N threads spending for T seconds across many "
        "wallets, then on one hot wallet, through credits.services.spend and through a raw SQL "
        "baseline; prints ops/s, p50/p99 latency and the ratio service/baseline. With "
        "--history-sizes, first times balance, history pages and reconcile on wallets with long "
        "histories. Works in a database of its own (<name>_bench), created, migrated and dropped "
        "by the command."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
        parser.add_argument(
            "--seconds", type=float, default=10.0, help="seconds per run, four runs (default 10)"
        )
        parser.add_argument(
            "--wallets", type=int, default=1000, help="wallets spent across (default 1000)"
        )
        parser.add_argument(
            "--history-sizes",
            type=history_sizes,
            default=[],
            help="comma-separated entry counts (e.g. 10000,1000000): before the spend runs, build "
            "a wallet with that long a history and time its reads and reconcile (default: none)",
        )
        parser.add_argument(
            "--skip-spends",
            action="store_true",
            help="skip the four timed spend runs (with --history-sizes: only the history phase)",
        )

    def handle(
        self,
        *args: Any,
        threads: int,
        seconds: float,
        wallets: int,
        history_sizes: list[int],
        skip_spends: bool,
        **options: Any,
    ):
        if connection.vendor != "postgresql":
            raise CommandError("credits_bench needs PostgreSQL (DATABASE_URL)")
        if threads < 1:
            raise CommandError(f"--threads must be at least 1 (got {threads}).")
        if not seconds > 0 or not math.isfinite(seconds):
            raise CommandError(f"--seconds must be a positive number (got {seconds}).")
        if wallets < 1:
            raise CommandError(f"--wallets must be at least 1 (got {wallets}).")
        if skip_spends and not history_sizes:
            raise CommandError("--skip-spends leaves nothing to do without --history-sizes.")

        started = time.perf_counter()
        across_ratio: float | None = None  # stays None with --skip-spends
        # DEBUG as in production: with it on, every cursor also logs its queries, which costs
        # the service's many small statements far more than the baseline's two.
        with override_settings(DEBUG=False), scratch_database("bench") as name:
            # History first: the baseline runs leave a ledger that no longer reconciles.
            if history_sizes:
                self.stdout.write(
                    f"credits_bench history: {len(history_sizes)} wallets with long "
                    f"histories, in database {name} (dropped after)"
                )
            for size in history_sizes:
                self.bench_history(size)
            if not skip_spends:
                across_ratio = self.bench(threads=threads, seconds=seconds, wallet_count=wallets)
        self.stdout.write(f"(whole command: {time.perf_counter() - started:.1f} s)")
        if across_ratio is not None:
            self.stdout.write(f"service/baseline across wallets: {across_ratio:.2f}")

    def bench_history(self, size: int) -> None:
        """Build a wallet with `size` entries, then time what must not grow with history: its
        balance, its first page and a deep page of history; then reconcile, which may grow but
        must stay within seconds (the issue asks for under 20 s at a million entries)."""
        built = time.perf_counter()
        history = build_long_history(size)
        self.stdout.write(
            f"history {size} entries: built in {time.perf_counter() - built:.1f} s "
            f"(wallet #{history.wallet_id}: 1 grant, {history.spends} spends)"
        )
        analyze_ledger()
        wallet = Wallet.objects.get(pk=history.wallet_id)
        balance = best_ms(lambda: read_balance(history.wallet_id))
        first = best_ms(lambda: history_page(wallet=wallet))
        deep = best_ms(lambda: history_page(wallet=wallet, before=history.middle_entry_id))
        self.stdout.write(
            f"history {size} entries: balance {balance:.2f} ms, first page {first:.2f} ms, "
            f"deep page {deep:.2f} ms"
        )
        with page_settings():
            self.report_pages(history)
            self.report_statement(history)
        self.report_reconcile(f"the {size}-entry history")

    def report_pages(self, history: LongHistory) -> None:
        """The dashboard, the first history page and a deep one, as the user gets them: what the
        selectors cost plus the session, the templates and any query the page adds."""
        client = signed_in_client(history.wallet_id)
        history_url = reverse("credits:history")
        pages = [
            first_visit(client, "dashboard, first of the month", reverse("credits:dashboard")),
            time_page(client, "dashboard", reverse("credits:dashboard")),
            time_page(client, "history", history_url),
            time_page(client, "deep history", f"{history_url}?before={history.middle_entry_id}"),
            # The worst filters: a kind found once, at the start, and text found nowhere.
            time_page(client, "history of grants", f"{history_url}?kind=grant"),
            time_page(client, "search, no match", f"{history_url}?text=no-such-words"),
        ]
        self.stdout.write(f"pages {history.size} entries: {', '.join(map(str, pages))}")

    def report_statement(self, history: LongHistory) -> None:
        """The CSV of the whole history: the wallet's own legs (about half the entries) plus the
        header and closing lines, streamed in constant memory if the export is right."""
        client = signed_in_client(history.wallet_id)
        export = export_statement(client, history_since(history.wallet_id), timezone.localdate())
        self.stdout.write(f"csv {history.size} entries: {export}")

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
        self.report_reconcile("the service runs")
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

    def report_reconcile(self, after: str) -> Report:
        """The service runs and the built histories must leave a ledger that adds up (the
        baseline runs cannot); how long checking it takes is part of the answer."""
        began = time.perf_counter()
        report = reconcile()
        took = time.perf_counter() - began
        if report.clean:
            self.stdout.write(
                f"reconcile after {after}: clean in {took:.1f} s ({report.checks} checks over "
                f"{report.wallets} wallets and {report.entries} entries)"
            )
            return report
        self.stdout.write(
            f"reconcile after {after}: NOT clean in {took:.1f} s over {report.entries} entries, "
            f"{len(report.problems)} discrepancies, e.g."
        )
        for problem in report.problems[:5]:
            self.stdout.write(f"  {problem}")
        return report
