"""How long events are kept: dispatched events older than a retention are deleted, with what
refers to them (webhook deliveries, by their cascade); an event not yet dispatched never is, nor
one an upper app still needs (a keep registered by it: an e-mail not sent yet, a webhook delivery
still trying)."""

import re
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q

from events.models import Event

# A webhook delivery retries for about 28 hours after its first attempt (integrations'
# schedule), and an endpoint failing for 5 days is disabled: a retention shorter
# than a week could delete a delivery still trying.
MIN_RETENTION = timedelta(days=7)
BATCH = 1000

AGE = re.compile(r"([0-9]{1,5})([dh])")


def parse_age(text: str) -> timedelta | None:
    """'90d' or '36h'; None for anything else."""
    found = AGE.fullmatch(text.strip())
    if not found:
        return None
    number, unit = int(found[1]), found[2]
    return timedelta(days=number) if unit == "d" else timedelta(hours=number)


# A keep: a condition over Event, true for the events its app still needs. The events layer
# cannot see the apps above it (their rows point here), so they say it.
Keep = Callable[[], Q]

_keeps: dict[str, Keep] = {}


def register_keep(name: str, keep: Keep) -> None:
    """Called from an app's `ready()`: `prune` never deletes an event `keep()` holds;
    registering a name again replaces it."""
    _keeps[name] = keep


def prunable(before: datetime):
    """The events `prune` would delete: dispatched, older than `before`, kept by no app."""
    events = Event.objects.filter(dispatched_at__isnull=False, occurred_at__lt=before)
    for keep in _keeps.values():
        events = events.exclude(keep())
    return events


def prune(*, before: datetime, batch: int = BATCH) -> Counter:
    """Delete the dispatched events that occurred before `before`, `batch` at a time (each in
    its own short transaction, so live traffic waits on no long lock); the rows deleted, by
    model label ("events.Event", and whatever the schema cascades to)."""
    deleted: Counter = Counter()
    while True:
        with transaction.atomic():
            ids = list(prunable(before).order_by("id").values_list("id", flat=True)[:batch])
            if not ids:
                return deleted
            # Filtered again in the delete: a notice or delivery may have come since.
            _, by_model = prunable(before).filter(pk__in=ids).delete()
            deleted.update(by_model)
