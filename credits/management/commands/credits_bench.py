"""`manage.py credits_bench`: how fast `credits.services.spend` is on PostgreSQL, and what it costs.

Seven timed runs of N threads (or, with --processes, N processes) for T seconds each: the
service's spends across many wallets and on one hot wallet; its holds, captures and releases
across wallets (each worker settling open holds placed for it before the run, untimed); then a
raw baseline of the two spend workloads. The ratios holds/spends, captures/spends and
releases/spends compare the hold services with a spend; service/baseline says how much the
service's bookkeeping (idempotency key, transaction row, grants burn-down, allocations) costs
over the bare write pattern. With `--history-sizes 10000,1000000`, it first
times reads, pages, the CSV statement and reconcile on wallets with that many entries.

Everything happens in a database of its own (credits.bench), created, migrated and dropped by
the command as Django's test runner does, so real data is never touched.
"""

import argparse
import math
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError, connection
from django.db.migrations.executor import MigrationExecutor
from django.utils.module_loading import import_string

from credits.bench.history import history_sizes
from credits.bench.runner import Bench, BenchFailed
from credits.thresholds import MAX_THRESHOLDS


class Command(BaseCommand):
    help = (
        "Benchmark credit spends on PostgreSQL: N threads spending for T seconds across many "
        "wallets, then on one hot wallet, through credits.services.spend and through a raw SQL "
        "baseline, and holding, capturing and releasing across wallets through the hold "
        "services; prints ops/s, p50/p99 latency, the ratios holds/spends, captures/spends and "
        "releases/spends and the ratio service/baseline. With "
        "--history-sizes, first times balance, history pages and reconcile on wallets with long "
        "histories. Works in a database of its own (<name>_bench), created, migrated and dropped "
        "by the command."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--threads", type=int, default=8, help="worker threads (default 8)")
        parser.add_argument(
            "--processes",
            action="store_true",
            help="run the workers as forked processes instead of threads (no shared interpreter "
            "lock: what gunicorn's workers see)",
        )
        parser.add_argument(
            "--seconds", type=float, default=10.0, help="seconds per run, seven runs (default 10)"
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
            "--listener",
            type=listener_function,
            default=None,
            help="dotted path of a function given the funded wallets before the spends, which "
            "makes someone listen to their events, e.g. integrations.bench.subscribe_to_spends "
            "(a partner app every wallet consented to, with a webhook endpoint for credits.spent)",
        )
        parser.add_argument(
            "--thresholds",
            type=int,
            default=0,
            help="low-balance thresholds on each benched wallet, never crossed (default 0, "
            f"at most {MAX_THRESHOLDS})",
        )
        parser.add_argument(
            "--skip-spends",
            action="store_true",
            help="skip the seven timed spend runs (with --history-sizes or --http: only those)",
        )
        parser.add_argument(
            "--http",
            action="store_true",
            help="last, serve the app with gunicorn on a loopback port and drive GET /healthz, "
            "GET /api/v1/wallet and POST /api/v1/spends with --threads clients for --seconds each",
        )
        parser.add_argument(
            "--http-workers", type=int, default=4, help="gunicorn workers for --http (default 4)"
        )
        parser.add_argument(
            "--profile-api",
            type=int,
            default=0,
            metavar="N",
            help="last, profile N POST /api/v1/spends through Django's whole handler in "
            "process, and print what each part costs per request (default: none)",
        )

    def handle(
        self,
        *args: Any,
        threads: int,
        seconds: float,
        wallets: int,
        history_sizes: list[int],
        skip_spends: bool,
        listener,
        thresholds: int = 0,
        http: bool = False,
        http_workers: int = 4,
        processes: bool = False,
        profile_api: int = 0,
        **options: Any,
    ):
        require_migrated_postgresql()
        if threads < 1:
            raise CommandError(f"--threads must be at least 1 (got {threads}).")
        if not seconds > 0 or not math.isfinite(seconds):
            raise CommandError(f"--seconds must be a positive number (got {seconds}).")
        if wallets < 1:
            raise CommandError(f"--wallets must be at least 1 (got {wallets}).")
        if not 0 <= thresholds <= MAX_THRESHOLDS:
            raise CommandError(
                f"--thresholds must be from 0 to {MAX_THRESHOLDS} (got {thresholds})."
            )
        if skip_spends and not history_sizes and not http and not profile_api:
            raise CommandError(
                "--skip-spends leaves nothing to do without --history-sizes, --http or "
                "--profile-api."
            )
        if profile_api < 0:
            raise CommandError(f"--profile-api must be a number of requests (got {profile_api}).")
        if http_workers < 1:
            raise CommandError(f"--http-workers must be at least 1 (got {http_workers}).")

        started = time.perf_counter()
        try:
            bench = Bench(self.stdout.write, thresholds=thresholds, processes=processes)
            across_ratio = bench.run(
                threads=threads,
                seconds=seconds,
                wallets=wallets,
                history_sizes=history_sizes,
                skip_spends=skip_spends,
                listener=listener,
                http_workers=http_workers if http else None,
                profile_requests=profile_api,
            )
        except BenchFailed as failed:
            raise CommandError(str(failed)) from failed
        self.stdout.write(f"(whole command: {time.perf_counter() - started:.1f} s)")
        if across_ratio is not None:
            self.stdout.write(f"service/baseline across wallets: {across_ratio:.2f}")


def listener_function(path: str):
    try:
        return import_string(path)
    except ImportError as error:
        raise argparse.ArgumentTypeError(f"cannot import {path!r}: {error}") from error


def require_migrated_postgresql() -> None:
    """Refuse, in one line and before doing anything, a database the bench cannot stand beside:
    not PostgreSQL, out of reach, or not migrated (its scratch copy is built from the same
    migrations, and an operator benchmarking an unmigrated deployment is about to be surprised)."""
    if connection.vendor != "postgresql":
        raise CommandError("credits_bench needs PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    try:
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DatabaseError as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CommandError(f"credits_bench cannot reach the database: {reason}") from error
    if pending:
        raise CommandError(
            f"The database {connection.settings_dict['NAME']} has {len(pending)} migrations "
            "not applied: run `manage.py migrate` first."
        )
