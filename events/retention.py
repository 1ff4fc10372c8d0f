"""How long events are kept: dispatched events older than a retention are deleted, with what
refers to them (webhook deliveries, by their cascade); an event not yet dispatched never is."""

import re
from collections import Counter
from datetime import datetime, timedelta

from django.db import transaction

from events.models import Event

# Webhook deliveries retry for about a day and a half after their event was dispatched
# (integrations' schedule), and an endpoint failing for 5 days is disabled: a retention shorter
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


def prune(*, before: datetime, batch: int = BATCH) -> Counter:
    """Delete the dispatched events that occurred before `before`, `batch` at a time (each in
    its own short transaction, so live traffic waits on no long lock); the rows deleted, by
    model label ("events.Event", and whatever the schema cascades to)."""
    deleted: Counter = Counter()
    while True:
        with transaction.atomic():
            ids = list(
                Event.objects.filter(dispatched_at__isnull=False, occurred_at__lt=before)
                .order_by("id")
                .values_list("id", flat=True)[:batch]
            )
            if not ids:
                return deleted
            # Filtered again: an event's dispatch mark is never taken back, but be exact.
            _, by_model = Event.objects.filter(pk__in=ids, dispatched_at__isnull=False).delete()
            deleted.update(by_model)
