"""The worker (`manage.py db_worker`, events' own): a crash after a commit and before the
kick loses nothing, since the worker sweeps on start; it also runs queued dispatches and every
app's sweep hook, and keeps sweeping while it runs.

Transactional tests: the worker closes a connection left inside a transaction, as a test's
would be, and changes here commit as in production (the kick after commit runs). They run on
PostgreSQL: SQLite's flush after them is refused by the ledger's append-only triggers. The sweep
itself runs on SQLite too, through `events_retry` (test_operations.py)."""

import threading

import pytest
from django.core.management import CommandError, call_command, get_commands
from django.db import connection, transaction
from django_tasks_db.models import DBTaskResult

from events.dispatch import register_channel, register_sweep, remove_channel, remove_sweep
from events.management.commands.db_worker import Sweeper
from events.models import Event
from events.outbox import announce
from tests.factories import UserFactory

postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="transactional tests, whose SQLite flush the ledger's append-only triggers refuse; "
    "runs on PostgreSQL (DATABASE_URL)",
)

DATABASE_QUEUE = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
DISPATCH = "events.dispatch.dispatch_events"


@pytest.fixture
def delivered():
    """The events a channel was handed, by type."""
    seen = []
    register_channel("tests: worker", lambda event: seen.append(event.type))
    yield seen
    remove_channel("tests: worker")


@pytest.fixture
def database_queue(settings):
    """Tasks queued in the database, as in production: nothing runs until a worker does. No
    kick window: each kick queues a task ready now (the window's own rule is the outbox's)."""
    settings.TASKS = DATABASE_QUEUE
    settings.EVENTS_DISPATCH_WINDOW = 0


@pytest.fixture
def user(db):
    return UserFactory()


def paid(user) -> None:
    with transaction.atomic():
        announce("purchase.paid", data={"purchase_id": 1}, user_id=user.pk)


def work_once():
    call_command("db_worker", "--batch", "--no-reload", "--no-startup-delay", verbosity=0)


def test_events_db_worker_is_the_one_manage_py_runs():
    assert get_commands()["db_worker"] == "events"


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_an_event_whose_kick_was_lost_is_delivered_when_the_worker_starts(
    user, everyone_listens, delivered, database_queue
):
    paid(user)  # committed and its dispatch queued; then the process crashes:
    DBTaskResult.objects.all().delete()  # as if the kick had never reached the queue
    assert delivered == []
    assert Event.objects.get().dispatched_at is None

    work_once()

    assert delivered == ["purchase.paid"]
    assert Event.objects.get().dispatched_at is not None
    work_once()
    assert delivered == ["purchase.paid"]  # once


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_dispatch_a_kick_queued(
    user, everyone_listens, delivered, database_queue
):
    paid(user)
    assert DBTaskResult.objects.filter(task_path=DISPATCH).count() == 1  # queued, not run
    assert delivered == []

    work_once()

    assert delivered == ["purchase.paid"]
    assert DBTaskResult.objects.get(task_path=DISPATCH).status == "SUCCESSFUL"


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_the_start_sweep_runs_every_sweep_hook_even_after_one_fails(database_queue):
    ran = []

    def broken():
        raise RuntimeError("a bug in one app")

    register_sweep("tests: broken", broken)
    register_sweep("tests: due work", lambda: ran.append("due work"))
    try:
        work_once()
    finally:
        remove_sweep("tests: broken")
        remove_sweep("tests: due work")
    assert ran == ["due work"]


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_a_running_worker_keeps_sweeping(user, everyone_listens, delivered, database_queue):
    swept = threading.Semaphore(0)
    register_sweep("tests: count", swept.release)
    sweeper = Sweeper(interval=0.05)
    sweeper.start()
    try:
        assert swept.acquire(timeout=10)  # a first round, with nothing waiting
        paid(user)  # its kick only queues a task nobody runs here
        assert swept.acquire(timeout=10)
        assert swept.acquire(timeout=10)  # a whole round after the event was written
    finally:
        sweeper.stop()
        sweeper.join(timeout=10)
        remove_sweep("tests: count")
    assert delivered == ["purchase.paid"]
    assert Event.objects.get().dispatched_at is not None


def test_run_with_worker_refuses_a_backend_without_a_queue():
    # The test settings run tasks at once (ImmediateBackend): no queue for a worker to read.
    with pytest.raises(CommandError, match="TASKS_BACKEND must be django_tasks_db") as error:
        call_command("run_with_worker")

    assert error.value.returncode == 2
