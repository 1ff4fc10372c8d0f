"""The outbox's one table: an event, as written with the change it announces."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class EventQuerySet(models.QuerySet):
    """An event's states: waiting for the worker, failed (a channel erred: it waits for
    events_retry), or dispatched."""

    def waiting(self):
        return self.filter(dispatched_at__isnull=True, dispatch_error="")

    def failed(self):
        return self.filter(dispatched_at__isnull=True).exclude(dispatch_error="")

    def dispatched(self):
        return self.filter(dispatched_at__isnull=False)


class Event(models.Model):
    """Something that happened, to be told to whoever listens (events.types lists the kinds).

    Written by `events.outbox` in the same transaction as the change, and only when someone
    listens (an audience said so); never updated after that but for `dispatched_at` (handed to
    every channel) and `dispatch_error` (a channel failed on it: it waits for `events_retry`).
    """

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(max_length=64)
    version = models.PositiveSmallIntegerField()
    occurred_at = models.DateTimeField()
    # Whom the event is about (a wallet's owner), and the partner app that acted, if one did.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    app_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    dispatch_error = models.TextField(blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The worker's queue, and the age of its oldest item (/healthz): kept small.
            models.Index(
                fields=["id"], condition=Q(dispatched_at__isnull=True), name="events_pending"
            ),
            models.Index(fields=["user", "occurred_at"], name="events_user_time"),
            models.Index(fields=["type", "occurred_at"], name="events_type_time"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.webhook_id}"

    @property
    def webhook_id(self) -> str:
        """The event's id outside: the `webhook-id` header and the body's `id`."""
        return f"evt_{self.uid.hex}"

    def body(self) -> dict:
        """What a listener receives: Standard Webhooks' recommended envelope."""
        return {
            "id": self.webhook_id,
            "type": self.type,
            "version": self.version,
            "timestamp": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "data": self.data,
        }
