"""Delivering events: the worker hands each written event to every channel, once.

A channel (registered by an upper app's `ready()`) turns an event into its own work: the
webhook channel (integrations) queues a delivery to each endpoint that wants it, the e-mail
channel (notifications) the messages a person wants. Each event is dispatched in a savepoint
of its batch's transaction, and marked dispatched in it: what a channel made of it and the mark
commit together, so an event is dispatched exactly once. A channel that fails on one event
leaves it waiting, with the error, for `events_retry`; the others go on.

The worker (`manage.py db_worker`, events.management.commands.db_worker) also sweeps: on start
and every EVENTS_SWEEP_SECONDS it dispatches whatever waits and runs every app's sweep hook, so
a kick lost in a crash delays an event, never loses it.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django_tasks import task

from events.models import Event

logger = logging.getLogger(__name__)

Channel = Callable[[Event], None]

_channels: dict[str, Channel] = {}

BATCH = 100


def register_channel(name: str, deliver: Channel) -> None:
    """Called from an app's `ready()`; registering a name again replaces it."""
    _channels[name] = deliver


def remove_channel(name: str) -> None:
    _channels.pop(name, None)


@task()
def dispatch_events() -> int:
    return dispatch_pending()


def dispatch_pending(*, now: datetime | None = None) -> int:
    """Dispatch every waiting event, oldest first; the number dispatched. Safe to run in
    several workers at once: each batch locks its events and skips those another has."""
    dispatched = 0
    while True:
        with transaction.atomic():
            batch = list(
                Event.objects.waiting().order_by("id").select_for_update(skip_locked=True)[:BATCH]
            )
            if not batch:
                return dispatched
            for event in batch:
                dispatched += _dispatch(event, now or timezone.now())


def _dispatch(event: Event, now: datetime) -> int:
    try:
        with transaction.atomic():
            for deliver in _channels.values():
                deliver(event)
            Event.objects.filter(pk=event.pk).update(dispatched_at=now)
        return 1
    except Exception as error:  # a channel's bug must not stop every event behind this one
        logger.exception("dispatching event %s failed", event.pk)
        message = f"{type(error).__name__}: {error}"[:2000]
        Event.objects.filter(pk=event.pk).update(dispatch_error=message)
        return 0


def retry_failed(events: QuerySet[Event] | None = None) -> int:
    """Give events a channel failed on (all, or those of `events`) another chance; the number
    of them."""
    events = Event.objects.all() if events is None else events
    return events.failed().update(dispatch_error="")


def oldest_waiting_age(now: datetime | None = None) -> timedelta | None:
    """How long the oldest event not yet dispatched has waited (a stuck worker shows here)."""
    oldest = (
        Event.objects.filter(dispatched_at__isnull=True)
        .order_by("id")
        .values_list("occurred_at", flat=True)
        .first()
    )
    return None if oldest is None else (now or timezone.now()) - oldest


# --- The sweep: what the worker runs on start and every EVENTS_SWEEP_SECONDS ---------------------
# A kick lost between a commit and the queue (a crash, a deploy) leaves its events waiting: the
# sweep dispatches them, and runs each app's hook for its own due work (integrations: webhook
# deliveries whose retry time has come).

SweepHook = Callable[[], object]

_sweeps: dict[str, SweepHook] = {}


def register_sweep(name: str, hook: SweepHook) -> None:
    """Called from an app's `ready()`: `hook()` runs in every sweep, after the events are
    dispatched; registering a name again replaces it."""
    _sweeps[name] = hook


def remove_sweep(name: str) -> None:
    _sweeps.pop(name, None)


@dataclass(frozen=True)
class Swept:
    dispatched: int
    hooks_run: int
    hooks_failed: int


def sweep() -> Swept:
    """Dispatch every waiting event, then run every sweep hook. A hook that fails is logged
    and the others still run (the next sweep tries it again)."""
    dispatched = dispatch_pending()
    run = failed = 0
    for name, hook in list(_sweeps.items()):
        try:
            hook()
            run += 1
        except Exception:  # one app's bug must not stop the others' due work
            logger.exception("sweep hook %s failed", name)
            failed += 1
    return Swept(dispatched, run, failed)


def dispatch_again(events: QuerySet[Event]) -> int:
    """Staff's "dispatch again" (the admin): clear the error of those of `events` a channel
    failed on and queue a dispatch once the transaction commits; the number cleared."""
    cleared = retry_failed(events)
    if cleared:
        from events.outbox import kick_after_commit  # outbox asks this module to deliver

        kick_after_commit()
    return cleared


# --- Backlogs: how long the oldest waiting item of each queue has waited (/healthz) --------------

Backlog = Callable[[datetime], timedelta | None]

_backlogs: dict[str, Backlog] = {}


def register_backlog(name: str, oldest_age: Backlog) -> None:
    """Called from an app's `ready()`: `oldest_age(now)` is how long the oldest item of its own
    queue has been overdue (None: nothing waits); /healthz reports it as
    `<name>_oldest_waiting_seconds` and is degraded past EVENTS_STUCK_SECONDS."""
    _backlogs[name] = oldest_age


def remove_backlog(name: str) -> None:
    _backlogs.pop(name, None)


def backlogs(now: datetime | None = None) -> dict[str, timedelta | None]:
    """Every queue's oldest waiting age: the outbox's own first."""
    now = now or timezone.now()
    return {"events": oldest_waiting_age(now), **{n: age(now) for n, age in _backlogs.items()}}


def health(now: datetime | None = None) -> tuple[dict, bool]:
    """/healthz's details (HEALTH_DETAILS): each queue's oldest waiting age in seconds, and
    whether one has waited past EVENTS_STUCK_SECONDS (the worker is stuck or not running)."""
    stuck_after = settings.EVENTS_STUCK_SECONDS
    seconds = {
        name: None if age is None else int(age.total_seconds())
        for name, age in backlogs(now).items()
    }
    details = {f"{name}_oldest_waiting_seconds": age for name, age in seconds.items()}
    details["stuck_after_seconds"] = stuck_after
    return details, any(age is not None and age > stuck_after for age in seconds.values())
