"""Operators' commands: reconcile, expire, release holds."""

import re
import sys
from datetime import timedelta
from io import StringIO

import psycopg
import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from credits import services
from credits.models import CreditTransaction, Entry, Wallet
from tests.credits.conftest import ACTOR, fund, key, state
from tests.processes import manage
from tests.processes import run as run_process

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_reconcile_passes_on_a_consistent_ledger(wallet, other_wallet):
    fund(wallet, 100)
    services.spend(wallet=wallet, amount=30, actor=ACTOR, idempotency_key=key())
    services.transfer(
        sender=wallet, receiver=other_wallet, amount=20, actor=ACTOR, idempotency_key=key()
    )

    output = run("credits_reconcile")

    assert "the ledger is consistent" in output
    assert "10 checks over" in output


def test_reconcile_names_each_discrepancy_and_exits_non_zero(wallet):
    fund(wallet, 100)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Wallet._meta.db_table} SET balance = 150 WHERE id = %s", [wallet.pk]
        )
        txn = CreditTransaction.objects.first()
        cursor.execute(
            f"INSERT INTO {Entry._meta.db_table} (transaction_id, wallet_id, amount, created_at) "
            "VALUES (%s, %s, 7, %s)",
            [txn.pk, services.system_wallet_id("consumption"), timezone.now()],
        )
    out = StringIO()

    with pytest.raises(CommandError, match="discrepancies"):
        call_command("credits_reconcile", stdout=out)

    lines = out.getvalue().splitlines()
    assert f"[transaction sums to zero] transaction #{txn.pk}: its entries sum to 7, not 0" in lines
    assert (
        f"[balance = Σ entries] wallet #{wallet.pk}: balance 150 but its entries sum to 100"
        in lines
    )
    assert any(line.startswith("[the ledger sums to zero]") for line in lines)


def test_expire_dry_run_lists_and_changes_nothing_then_the_run_expires(wallet):
    grant = fund(wallet, 40, days=1)

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        listed = run("credits_expire", "--dry-run")
        assert state(wallet) == (40, 0, 40)
        expired = run("credits_expire")
        again = run("credits_expire")

    assert f"grant #{grant.pk} (wallet #{wallet.pk}): 40 credits" in listed
    assert "Would expire 40 credits from 1 grant." in listed
    assert "Expired 40 credits from 1 grant." in expired
    assert "Expired 0 credits from 0 grants." in again
    assert state(wallet) == (0, 0, 0)


def test_release_holds_releases_expired_holds_once(wallet):
    fund(wallet, 100)
    services.hold(
        wallet=wallet,
        amount=25,
        expires_at=timezone.now() + timedelta(minutes=5),
        actor=ACTOR,
        idempotency_key=key(),
    )

    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        first = run("credits_release_holds")
        second = run("credits_release_holds")

    assert "Released 25 credits from 1 expired hold." in first
    assert "Released 0 credits from 0 expired holds." in second
    assert state(wallet) == (100, 0, 100)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threads", "0"], "--threads must be at least 1 (got 0)"),
        (["--seconds", "nan"], "--seconds must be a positive number (got nan)"),
        (["--wallets", "0"], "--wallets must be at least 1 (got 0)"),
        (["--skip-spends"], "--skip-spends leaves nothing to do without --history-sizes"),
        (["--http", "--http-workers", "0"], "--http-workers must be at least 1 (got 0)"),
        (["--profile-api", "-1"], "--profile-api must be a number of requests (got -1)"),
    ],
)
def test_bench_refuses_bad_options_before_creating_anything(args, message):
    expected = message if connection.vendor == "postgresql" else "needs PostgreSQL"
    databases_before = _database_names()

    with pytest.raises(CommandError, match=re.escape(expected)):
        call_command("credits_bench", *args, stdout=StringIO())

    assert _database_names() == databases_before


def _database_names() -> set[str]:
    if connection.vendor != "postgresql":
        return set()
    with connection.cursor() as cursor:
        cursor.execute("SELECT datname FROM pg_database")
        return {row[0] for row in cursor.fetchall()}


def test_bench_refuses_an_odd_history_size():
    with pytest.raises(CommandError, match="an even number of at least"):
        call_command("credits_bench", "--history-sizes", "10001", stdout=StringIO())


@pytest.fixture
def empty_postgres_database(django_db_blocker):
    """A PostgreSQL database with no tables beside the test one, dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_unmigrated"
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cursor.execute(f'CREATE DATABASE "{name}"')
    settings_dict = connection.settings_dict
    yield (
        (
            f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD']}@"
            f"{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/{name}"
        ),
        name,
    )
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the bench runs on PostgreSQL only")
@pytest.mark.django_db(transaction=True)
def test_bench_refuses_an_unmigrated_database_in_one_line_and_writes_nothing(
    empty_postgres_database,
):
    url, name = empty_postgres_database

    result = manage("credits_bench", "--seconds", "1", DATABASE_URL=url, DEBUG="true")

    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()
    assert re.fullmatch(
        rf"CommandError: The database {name} has \d+ migrations not applied: "
        r"run `manage.py migrate` first\.",
        line,
    )
    assert result.stdout == ""
    with psycopg.connect(url) as unmigrated:
        tables = unmigrated.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
    assert tables == 0  # not even django_migrations
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [f"{name}_bench"])
        assert cursor.fetchone() is None  # no scratch database was made either


ONE_WITH_A_PLURAL = re.compile(r"(?<![\d,.])1 (?:\w+ )?\w+s\b")


def test_no_command_says_one_of_something_in_the_plural(wallet, other_wallet):
    """Each operator command, run with exactly one of each thing it counts."""
    fund(wallet, 1, days=1)
    fund(other_wallet, 1)
    hold = services.hold(
        wallet=other_wallet, amount=1, actor=ACTOR, idempotency_key=key(),
        expires_at=timezone.now() + timedelta(hours=1),
    )  # fmt: skip
    assert hold is not None
    fund(other_wallet, 1, days=5)  # three days left when the commands run: warned of

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        outputs = [
            run("credits_release_holds"),
            run("credits_expire", "--dry-run"),
            run("credits_expire"),
        ]

    assert outputs[0].startswith("Released 1 credit from 1 expired hold.")
    assert "Would expire 1 credit from 1 grant." in outputs[1]
    assert outputs[2].splitlines()[:2] == [
        "Warned of 1 grant expiring soon (7 days: 1, 1 day: 0).",
        "Expired 1 credit from 1 grant.",
    ]
    assert [ONE_WITH_A_PLURAL.findall(output) for output in outputs] == [[], [], []]


def this_database_url() -> str:
    """The tests' database as a DATABASE_URL, for a command run in a process of its own."""
    settings_dict = connection.settings_dict
    return (
        f"postgres://{settings_dict['USER']}:{settings_dict['PASSWORD']}@"
        f"{settings_dict['HOST'] or '127.0.0.1'}:{settings_dict['PORT'] or 5432}/"
        f"{settings_dict['NAME']}"
    )


@pytest.mark.skipif(connection.vendor != "postgresql", reason="credits_bench needs PostgreSQL")
def test_the_http_bench_serves_with_gunicorn_and_prints_each_endpoints_figures():
    url = this_database_url()

    result = run_process(
        [
            sys.executable,
            "manage.py",
            "credits_bench",
            "--skip-spends",
            "--http",
            "--seconds",
            "0.5",
            "--threads",
            "2",
            "--http-workers",
            "1",
        ],
        timeout=300,
        DATABASE_URL=url,
        DEBUG="true",
    )

    assert result.returncode == 0, result.stderr
    for endpoint in ("GET /healthz", "GET /api/v1/wallet", "POST /api/v1/spends"):
        line = next(line for line in result.stdout.splitlines() if line.startswith(endpoint))
        requests, errors = int(line.split()[2]), int(line.split()[-1])
        assert (requests > 0, errors) == (True, 0), line
    assert re.search(r"http ratios to /healthz: wallet \d\.\d\d, spends \d\.\d\d", result.stdout)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="credits_bench needs PostgreSQL")
def test_the_api_profile_prints_what_each_part_of_a_spend_costs():
    result = run_process(
        [sys.executable, "manage.py", "credits_bench", "--skip-spends", "--profile-api", "5"],
        timeout=300,
        DATABASE_URL=this_database_url(),
        DEBUG="true",
    )

    assert result.returncode == 0, result.stderr
    assert re.search(
        r"profile of POST /api/v1/spends: 5 requests in process, \d+\.\d\d ms each "
        r"unprofiled, 3 statements each",
        result.stdout,
    ), result.stdout
    parts = dict(
        (label.strip(), float(ms))
        for label, ms in re.findall(r"^  (.+?)\s+(\d+\.\d{3}) ms$", result.stdout, re.M)
    )
    assert parts["the whole handler"] > parts["the spend service"] > 0, parts
    assert parts["the ledger's one call (credits_take)"] > 0, parts


QUICK_RUN = ["--seconds", "0.5", "--threads", "2", "--wallets", "5"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="credits_bench needs PostgreSQL")
def test_the_bench_runs_its_workers_as_processes_and_times_the_hold_services_beside_spends():
    url = this_database_url()

    result = run_process(
        [sys.executable, "manage.py", "credits_bench", "--processes", *QUICK_RUN],
        timeout=300,
        DATABASE_URL=url,
        DEBUG="true",
    )

    assert result.returncode == 0, result.stderr
    assert "credits_bench: 2 processes" in result.stdout
    for run in (
        "service / across wallets",
        "service / hot wallet",
        "holds / across wallets",
        "captures / across wallets",
        "releases / across wallets",
    ):
        line = next(line for line in result.stdout.splitlines() if line.startswith(run))
        ops, errors = int(line.split()[-5]), int(line.split()[-1])
        assert (ops > 0, errors) == (True, 0), line
    assert "reconcile after the service runs: clean" in result.stdout
    for settled in ("holds", "captures", "releases"):
        assert re.search(rf"{settled}/spends across wallets: \d\.\d\d", result.stdout)
