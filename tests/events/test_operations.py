"""Operating the outbox: `events_retry` sweeps now (and gives failed events another chance),
`events_prune` deletes old dispatched events and never a waiting one, and /healthz shows a
stuck worker."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from events.dispatch import (
    register_backlog,
    register_channel,
    register_sweep,
    remove_backlog,
    remove_channel,
    remove_sweep,
)
from events.models import Event
from events.outbox import announce
from tests.processes import manage

pytestmark = pytest.mark.django_db


def run(command: str, *args: str) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def paid(user_id: int, purchase_id: int = 1) -> Event:
    announce("purchase.paid", data={"purchase_id": purchase_id}, user_id=user_id)
    return Event.objects.latest("id")


@pytest.fixture
def failing_channel():
    """A channel that fails on every event until told to work."""
    state = {"works": False, "seen": []}

    def deliver(event):
        if not state["works"]:
            raise ConnectionError("the mail server is down")
        state["seen"].append(event.pk)

    register_channel("tests: flaky", deliver)
    yield state
    remove_channel("tests: flaky")


def test_events_retry_dispatches_what_waits_and_runs_the_sweep_hooks(wallet, everyone_listens):
    paid(wallet.user_id)
    paid(wallet.user_id, 2)
    hooked = []
    register_sweep("tests: hook", lambda: hooked.append(1))
    try:
        output = run("events_retry")
    finally:
        remove_sweep("tests: hook")

    assert "Dispatched 2 events; ran 2 sweep hooks." in output  # ours and the webhooks'
    assert hooked == [1]
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()


def test_events_retry_failed_gives_failed_events_another_chance(
    wallet, everyone_listens, failing_channel
):
    event = paid(wallet.user_id)
    assert "Dispatched 0 events" in run("events_retry")
    event.refresh_from_db()
    assert event.dispatch_error == "ConnectionError: the mail server is down"
    failing_channel["works"] = True

    assert "Dispatched 0 events" in run("events_retry")  # a failed event waits for --failed
    output = run("events_retry", "--failed")

    assert "Cleared the dispatch error of 1 event." in output
    assert "Dispatched 1 event;" in output
    assert failing_channel["seen"] == [event.pk]
    event.refresh_from_db()
    assert (event.dispatch_error, event.dispatched_at is not None) == ("", True)


def test_events_prune_deletes_old_dispatched_events_only(wallet, everyone_listens):
    with time_machine.travel(timezone.now() - timedelta(days=100), tick=False):
        old_dispatched = paid(wallet.user_id, 1)
        old_waiting = paid(wallet.user_id, 2)
    recent_dispatched = paid(wallet.user_id, 3)
    Event.objects.filter(pk__in=[old_dispatched.pk, recent_dispatched.pk]).update(
        dispatched_at=timezone.now()
    )

    output = run("events_prune", "--older-than", "90d")

    assert output.startswith("Deleted 1 dispatched event that occurred before")
    remaining = set(Event.objects.values_list("pk", flat=True))
    assert remaining == {old_waiting.pk, recent_dispatched.pk}
    assert run("events_prune", "--older-than", "2160h").startswith("Deleted 0 dispatched events")


@pytest.mark.parametrize("age", ["90", "90m", "-3d", "1d", "ninety days", ""])
def test_events_prune_refuses_a_bad_age_and_deletes_nothing(wallet, everyone_listens, age):
    with time_machine.travel(timezone.now() - timedelta(days=100), tick=False):
        event = paid(wallet.user_id)
    Event.objects.filter(pk=event.pk).update(dispatched_at=timezone.now())

    with pytest.raises(CommandError, match="--older-than must be an age such as 90d") as error:
        run("events_prune", f"--older-than={age}")

    assert error.value.returncode == 2
    assert Event.objects.filter(pk=event.pk).exists()


def test_events_prune_exits_2_with_one_line():
    result = manage("events_prune", "--older-than", "soon", DEBUG="true")

    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "--older-than must be an age" in result.stderr


def test_healthz_reports_the_oldest_waiting_event_and_degrades_past_the_stuck_age(
    client, wallet, everyone_listens, settings
):
    settings.EVENTS_STUCK_SECONDS = 600
    with time_machine.travel(timezone.now() - timedelta(seconds=300), tick=False):
        paid(wallet.user_id)

    fresh = client.get("/healthz")
    with time_machine.travel(timezone.now() + timedelta(seconds=400), tick=False):
        stuck = client.get("/healthz")

    assert fresh.status_code == 200
    assert fresh.json()["status"] == "ok"
    assert 300 <= fresh.json()["details"]["events_oldest_waiting_seconds"] < 310
    assert stuck.status_code == 200  # the web server serves; the worker behind it is stuck
    assert stuck.json()["status"] == "degraded"
    assert stuck.json()["details"]["events_oldest_waiting_seconds"] >= 700
    assert stuck.json()["details"]["stuck_after_seconds"] == 600


def test_healthz_reports_an_app_s_backlog_too(client, settings):
    settings.EVENTS_STUCK_SECONDS = 600
    register_backlog("tests_deliveries", lambda now: timedelta(seconds=601))
    try:
        body = client.get("/healthz").json()
    finally:
        remove_backlog("tests_deliveries")

    assert body["status"] == "degraded"
    assert body["details"]["tests_deliveries_oldest_waiting_seconds"] == 601
    assert body["details"]["events_oldest_waiting_seconds"] is None
