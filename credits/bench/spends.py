"""The spend benchmark: N threads spending through `credits.services.spend` (or holding,
capturing and releasing through the hold services), and through a raw SQL baseline of the same
write pattern (one `UPDATE ... WHERE available >= amount` and one two-row `INSERT` of entries
through psycopg, in one transaction), for T seconds each."""

import math
import multiprocessing
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import psycopg
from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction

from credits import services
from credits.actors import Actor
from credits.models import CreditTransaction, Entry, Hold, Wallet

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
    """One thread's way of spending: it owns that thread's database connection. What it spends
    on is what the run's picker hands it: a wallet, or for captures and releases an open hold."""

    def connect(self) -> None: ...

    def spend(self, target: Any) -> object: ...

    def close(self) -> None: ...


# The services a ServiceSpender can time: those moving AMOUNT in a wallet, and those settling
# a hold (the whole of it: a capture takes all it reserves).
ON_WALLETS = {"spend": services.spend, "hold": services.hold}
ON_HOLDS = {"capture": services.capture, "release": services.release}


class ServiceSpender:
    """Spends through `credits.services.spend` (or holds, captures or releases through the hold
    services), on the worker's own Django connection, with a fresh idempotency key each time."""

    def __init__(self, operation: str = "spend") -> None:
        self.operate = {**ON_WALLETS, **ON_HOLDS}[operation]
        self.on_holds = operation in ON_HOLDS

    def connect(self) -> None:
        # Connect before the start line, so connecting is not timed as a spend.
        connection.ensure_connection()

    def spend(self, target: Wallet | Hold) -> CreditTransaction:
        on = {"hold": target} if self.on_holds else {"wallet": target, "amount": AMOUNT}
        return self.operate(
            **on, actor=ACTOR, idempotency_key=uuid.uuid4().hex, description="bench"
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
    pick: Callable[[], Any],
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
    make_picker: Callable[[], Callable[[], Any]],
    processes: bool = False,
) -> RunResult:
    """Run `threads` workers together for `seconds`; throughput is over the real wall time.
    With `processes`, each worker is a process of its own (forked: no interpreter lock shared
    with the others), as gunicorn's workers are."""
    if processes:
        return _timed_run_in_processes(label, threads, seconds, make_spender, make_picker)
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
    return _together(label, tallies, clock)


def _together(label: str, tallies: list[ThreadTally], clock) -> RunResult:
    """The workers' tallies as one run, timed from the start line to the last one's end."""
    ended = max((tally.finished for tally in tallies), default=0.0)
    return RunResult(
        label=label,
        latencies=sorted(latency for tally in tallies for latency in tally.latencies),
        errors=sum(tally.errors for tally in tallies),
        first_error=next((tally.first_error for tally in tallies if tally.first_error), ""),
        elapsed=ended - clock["start"] if "start" in clock and ended else 0.0,
    )


class SharedClock:
    """The start line's time, shared by forked workers (perf_counter is system-wide)."""

    def __init__(self, value) -> None:
        self.value = value

    def __getitem__(self, key: str) -> float:
        return self.value.value

    def __contains__(self, key: str) -> bool:
        return self.value.value > 0

    def update(self, start: float) -> None:
        self.value.value = start


def _timed_run_in_processes(label, workers, seconds, make_spender, make_picker) -> RunResult:
    context = multiprocessing.get_context("fork")
    clock = SharedClock(context.Value("d", 0.0))
    start_line = context.Barrier(workers, action=lambda: clock.update(start=time.perf_counter()))
    stop = context.Event()
    tallies = context.Queue()
    # Made here, as for threads, so that each child gets a picker of its own (a pool of holds).
    spenders = [(make_spender(), make_picker()) for _ in range(workers)]
    # A forked child must not share the parent's database connections: it opens its own.
    connections.close_all()

    def run(spender: Spender, pick: Callable[[], Any]) -> None:
        tally = ThreadTally()
        worker(spender, pick, start_line, clock, seconds, stop, tally)
        tallies.put(tally)

    children = [
        context.Process(target=run, args=pair, name=f"credits-bench-{n}")
        for n, pair in enumerate(spenders)
    ]
    for child in children:
        child.start()
    try:
        # Read before joining: a child exits only once the queue has taken its tally.
        results = [tallies.get(timeout=seconds + 120) for _ in children]
    finally:
        stop.set()
        for child in children:
            child.join()
    return _together(label, results, clock)


def random_picker(wallets: list[Wallet]) -> Callable[[], Wallet]:
    """A wallet chosen at random for each spend (a generator per thread: no shared state)."""
    rng = random.Random()  # noqa: S311 (load spreading, not cryptography)
    return lambda: rng.choice(wallets)


def fixed_picker(wallet: Wallet) -> Callable[[], Wallet]:
    return lambda: wallet


class PoolRanDry(Exception):
    """A worker settled every hold placed for it before the deadline: counted as an error."""


def place_holds(
    wallets: list[Wallet], *, pools: int, size: int
) -> Callable[[], Callable[[], Hold]]:
    """`pools` pools of `size` open holds of AMOUNT each, on wallets chosen at random, placed
    through `credits.services.hold` before a run (untimed); each call of the result is a picker
    handing out one pool's holds, one a call. Each hold commits on its own, as a worker's would.
    """
    pick, placer = random_picker(wallets), ServiceSpender("hold")
    placed = [[placer.spend(pick()).hold for _ in range(size)] for _ in range(pools)]
    handed_out = iter(placed)

    def make_picker() -> Callable[[], Hold]:
        pool = next(handed_out)

        def next_hold() -> Hold:
            if not pool:
                raise PoolRanDry(f"all {size} holds placed for this worker were settled")
            return pool.pop()

        return next_hold

    return make_picker


def fund_wallets(count: int, *, thresholds: int = 0) -> tuple[list[Wallet], Wallet]:
    """`count` wallets plus one hot wallet, each granted FUNDING credits through the service,
    and given `thresholds` low-balance thresholds far below it (judged on every spend, crossed
    by none).

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
            if thresholds:
                services.set_thresholds(
                    wallet=wallet,
                    thresholds=[1000 * (index + 1) for index in range(thresholds)],
                    actor=ACTOR,
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
