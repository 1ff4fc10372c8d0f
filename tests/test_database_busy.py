"""A wallet another transaction keeps locked: the request gives up after the lock timeout and
answers 503 with Retry-After, keeping nothing, and its retry with the same key spends once."""

import threading
from contextlib import contextmanager, suppress

import psycopg
import pytest
from django.db import connection
from django.test import Client

from credits.models import CreditTransaction, IdempotencyRecord, Wallet
from tests.clients import Api
from tests.credits.conftest import fund, state
from tests.factories import UserFactory
from tests.pages import text
from tests.processes import python

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row locks and lock_timeout are PostgreSQL's (DATABASE_URL); SQLite is tested below",
)
sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="SQLite's own write lock; PostgreSQL is tested above"
)


@contextmanager
def locked_elsewhere(wallet: Wallet):
    """Another session holds SELECT … FOR UPDATE on the wallet's row until the block ends.

    Without a lock timeout the request would wait for ever (the test holds the lock in the same
    thread), so the other session lets go by itself after 20 s idle: the request then succeeds
    late, and the test fails instead of hanging."""
    params = connection.settings_dict
    other = psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"],
        password=params["PASSWORD"],
        host=params["HOST"],
        port=params["PORT"] or None,
        options="-c idle_in_transaction_session_timeout=20s",
    )
    try:
        table = Wallet._meta.db_table
        other.execute(f"SELECT id FROM {table} WHERE id = %s FOR UPDATE", [wallet.pk])
        yield
    finally:
        with suppress(psycopg.Error):  # already ended if the idle timeout fired
            other.rollback()
        other.close()


def spends_of(wallet: Wallet) -> int:
    return CreditTransaction.objects.filter(wallet=wallet, kind="spend").count()


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_spend_from_a_locked_wallet_is_a_503_and_its_retry_spends_once():
    user = UserFactory()
    fund(user.wallet, 100)
    api = Api(user)
    body = {"amount": 30, "description": "Logo design"}

    with locked_elsewhere(user.wallet):
        busy = api.post("spends", body, idempotency_key="retry-me")

    assert busy.status_code == 503
    assert busy["Retry-After"] == "2"
    assert busy.json()["type"] == "server_error"
    [error] = busy.json()["errors"]
    assert error["code"] == "database_busy"
    assert "same Idempotency-Key" in error["detail"]
    # Nothing was kept under the key: neither the API's stored response nor the ledger's record.
    assert not IdempotencyRecord.objects.filter(
        key="retry-me", response_status__isnull=False
    ).exists()
    assert not IdempotencyRecord.objects.filter(key__endswith="retry-me").exists()
    assert state(user.wallet)[0] == 100

    retried = api.post("spends", body, idempotency_key="retry-me")
    again = api.post("spends", body, idempotency_key="retry-me")

    assert retried.status_code == 201
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert state(user.wallet)[0] == 70
    assert spends_of(user.wallet) == 1


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_page_that_finds_the_wallet_locked_is_the_503_page():
    sender, receiver = UserFactory(), UserFactory()
    fund(sender.wallet, 100)
    client = Client()
    client.force_login(sender)
    key = client.get("/dashboard/transfer/").context["form"]["idempotency_key"].value()
    form = {"email": receiver.email, "amount": "40", "description": "", "idempotency_key": key}
    assert client.post("/dashboard/transfer/", form).status_code == 200  # the confirmation step

    with locked_elsewhere(sender.wallet):
        busy = client.post("/dashboard/transfer/confirm/", form)

    assert busy.status_code == 503
    assert busy["Retry-After"] == "2"
    assert "CreditDesk is busy" in text(busy)
    assert state(sender.wallet)[0] == 100

    sent = client.post("/dashboard/transfer/confirm/", form)
    client.post("/dashboard/transfer/confirm/", form)

    assert sent.status_code == 302
    assert state(sender.wallet)[0] == 60
    assert state(receiver.wallet)[0] == 40


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_statement_past_the_statement_timeout_is_a_503_too():
    user = UserFactory()
    fund(user.wallet, 100)
    api = Api(user)
    with connection.cursor() as cursor:  # the connection the test client's requests use
        cursor.execute("SET lock_timeout = 0")  # wait for the lock as long as it takes…
        cursor.execute("SET statement_timeout = '200ms'")  # …which is too long
    try:
        with locked_elsewhere(user.wallet):
            busy = api.post("spends", {"amount": 30, "description": "x"}, idempotency_key="slow")
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
            cursor.execute("RESET statement_timeout")

    assert busy.status_code == 503
    assert busy["Retry-After"] == "2"
    assert "took too long" in busy.json()["errors"][0]["detail"]
    assert state(user.wallet)[0] == 100
    assert not IdempotencyRecord.objects.filter(key="slow").exists()


@postgresql_only
@pytest.mark.django_db
def test_request_connections_wait_3_seconds_for_a_lock_and_run_15_at_most():
    with connection.cursor() as cursor:
        cursor.execute("SHOW lock_timeout")
        lock_timeout = cursor.fetchone()[0]
        cursor.execute("SHOW statement_timeout")
        statement_timeout = cursor.fetchone()[0]

    assert (lock_timeout, statement_timeout) == ("3s", "15s")


def in_another_thread(request):
    """The answer to `request()` made from another thread, on its own database connection."""
    answers = []

    def call():
        try:
            answers.append(request())
        finally:
            connection.close()

    thread = threading.Thread(target=call)
    thread.start()
    thread.join(timeout=60)
    [answer] = answers
    return answer


@sqlite_only
@pytest.mark.django_db
def test_sqlite_answers_503_when_its_database_is_locked():
    """The test holds SQLite's write lock (its transaction wrote the token); a request from
    another thread, on its own connection, finds the database locked."""
    user = UserFactory()
    fund(user.wallet, 100)
    api = Api(user)

    busy = in_another_thread(lambda: api.post("spends", {"amount": 1, "description": "x"}))

    assert busy.status_code == 503
    assert busy["Retry-After"] == "2"
    assert busy.json()["errors"][0]["code"] == "database_busy"


@sqlite_only
@pytest.mark.django_db
def test_a_page_whose_session_cannot_be_read_is_the_503_page_too():
    """Outside any view: the sign-in check reads the session (which the test's transaction
    wrote) before the view runs, so the 500 handler answers, with the 503 page."""
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory())

    busy = in_another_thread(lambda: client.get("/dashboard/"))

    assert busy.status_code == 503
    assert busy["Retry-After"] == "2"
    assert "CreditDesk is busy" in text(busy)


TIMEOUTS = (
    "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS']['options'])"
)


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (None, "-c lock_timeout=3s -c statement_timeout=15s"),
        ("runserver", "-c lock_timeout=3s -c statement_timeout=15s"),
        ("migrate", "-c lock_timeout=60s -c statement_timeout=0s"),
        ("credits_expire", "-c lock_timeout=60s -c statement_timeout=0s"),
    ],
)
def test_web_processes_get_the_request_timeouts_and_commands_longer_ones(command, options):
    code = f"from config.startup import load_settings; load_settings(command={command!r}); "
    postgres = "postgres://user:secret@db.example.com:5432/credits"  # never dialled

    result = python(code + TIMEOUTS, DEBUG="true", DATABASE_URL=postgres)

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == options


def test_the_timeouts_come_from_the_environment_after_the_urls_own_options():
    code = "from config.startup import load_settings; load_settings(); " + TIMEOUTS
    postgres = "postgres://user:secret@db.example.com:5432/credits?options=-c%20work_mem%3D8MB"

    result = python(
        code,
        DEBUG="true",
        DATABASE_URL=postgres,
        DATABASE_LOCK_TIMEOUT="1",
        DATABASE_STATEMENT_TIMEOUT="0",
    )

    assert result.stdout.strip() == "-c work_mem=8MB -c lock_timeout=1s -c statement_timeout=0s"
