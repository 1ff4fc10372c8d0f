"""Delivering events: the worker hands each written event to every channel, once.

A channel (registered by an upper app's `ready()`) turns an event into its own work: the
webhook channel (integrations) queues a delivery to each endpoint that wants it, the e-mail
channel (notifications) the messages a person wants. Each event is dispatched in a savepoint
of its batch's transaction, and marked dispatched in it: what a channel made of it and the mark
commit together, so an event is dispatched exactly once. A channel that fails on one event
leaves it waiting, with the error, for `events_retry`; the others go on.
"""

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
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
                Event.objects.filter(dispatched_at__isnull=True, dispatch_error="")
                .order_by("id")
                .select_for_update(skip_locked=True)[:BATCH]
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


def retry_failed() -> int:
    """Give events a channel failed on another chance; the number of them."""
    return (
        Event.objects.filter(dispatched_at__isnull=True)
        .exclude(dispatch_error="")
        .update(dispatch_error="")
    )


def oldest_waiting_age(now: datetime | None = None) -> timedelta | None:
    """How long the oldest event not yet dispatched has waited (a stuck worker shows here)."""
    oldest = (
        Event.objects.filter(dispatched_at__isnull=True)
        .order_by("id")
        .values_list("occurred_at", flat=True)
        .first()
    )
    return None if oldest is None else (now or timezone.now()) - oldest
