"""How long idempotency records are kept, and pruning the ones that can be forgotten safely."""

from datetime import datetime, timedelta

from django.utils import timezone

from credits.errors import InvalidRequest
from credits.models import IdempotencyRecord

# How long the records of keys are kept: by default (`manage.py idempotency_prune`), and at least
# (no prune goes below it, so a key is never forgotten while its request may still be retried).
DEFAULT_RETENTION = timedelta(days=30)
MIN_RETENTION = timedelta(days=1)


def prune_refusals(*, before: datetime, dry_run: bool = False, batch: int = 1000) -> int:
    """Delete the records of keys first used before `before` whose request was refused; return
    how many (or, with `dry_run`, would be).

    A refused request moved nothing, so forgetting its key can never move credits twice: the
    key then runs as a new request, once. A record with a transaction is never deleted (the
    ledger is append-only): it is what makes its key spend once, however old the key is.
    """
    if before > timezone.now() - MIN_RETENTION:
        raise InvalidRequest(f"Idempotency records are kept at least {MIN_RETENTION.days} day.")
    refused = IdempotencyRecord.objects.filter(created_at__lt=before).exclude(refusal_code="")
    refused = refused.filter(credit_transaction__isnull=True)
    if dry_run:
        return refused.count()
    deleted = 0
    while ids := list(refused.values_list("id", flat=True)[:batch]):
        # Short statements, each its own transaction: safe beside live traffic.
        deleted += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]
    return deleted
