"""API infrastructure shared by every endpoint (partner apps and credentials come later)."""

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class StoredResponse(models.Model):
    """The first response to a POST made with an Idempotency-Key, replayed for its retries.

    As Stripe does: the same key with the same request gets this response again (status and
    body) and nothing runs twice; the same key with another request is refused.
    """

    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="integrations_response_key")
        ]
        # `idempotency_prune` deletes the oldest.
        indexes = [models.Index(fields=["created_at"], name="integrations_response_age")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key} → {self.status_code}"
