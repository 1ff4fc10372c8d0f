"""How long idempotency records keep what they answered, and letting go of it safely.

A key's record is what makes its request happen once. Past the retention:

- a record whose request moved credits stays (its transaction points at it, and the ledger is
  append-only), but the answer the API kept on it is let go: a retry is then refused (409
  idempotency_key_expired) and never moves credits again;
- a record whose request moved nothing (a refusal, or an answer the API kept for a request that
  posted no transaction, such as an approval request, which its service replays by itself) is
  deleted: the key then runs as a new request, once.
"""

from datetime import datetime, timedelta

from django.db.models import Max, Min, Q
from django.utils import timezone

from credits.errors import InvalidRequest
from credits.models import IdempotencyRecord

# How long the records of keys are kept: by default (`manage.py idempotency_prune`), and at least
# (no prune goes below it, so a key is never forgotten while its request may still be retried).
DEFAULT_RETENTION = timedelta(days=30)
MIN_RETENTION = timedelta(days=1)


def prune(*, before: datetime, dry_run: bool = False, batch: int = 1000) -> tuple[int, int]:
    """Let go of the answers, and delete the records that moved nothing, of keys first used
    before `before`; returns (answers let go, records deleted), or what would be with `dry_run`.

    Works through the records by id, a batch at a time, each batch its own short statements:
    safe beside live traffic.
    """
    if before > timezone.now() - MIN_RETENTION:
        raise InvalidRequest(f"Idempotency records are kept at least {MIN_RETENTION.days} day.")
    old = IdempotencyRecord.objects.filter(created_at__lt=before)
    moved_nothing = old.filter(credit_transaction__isnull=True)
    answered = old.filter(credit_transaction__isnull=False, response_status__isnull=False)
    if dry_run:
        return answered.count(), moved_nothing.count()
    let_go = deleted = 0
    for low, high in _id_batches(before, batch):
        in_batch = Q(id__gte=low, id__lte=high)
        let_go += answered.filter(in_batch).update(
            response_status=None, response_body="", request_fingerprint=""
        )
        deleted += moved_nothing.filter(in_batch).delete()[0]
    return let_go, deleted


def _id_batches(before: datetime, batch: int):
    """(first id, last id) of each batch of `batch` ids, up to the last record before `before`
    (one scan of the table to find it: no index on the time is kept for a daily job)."""
    bounds = IdempotencyRecord.objects.filter(created_at__lt=before).aggregate(
        low=Min("id"), high=Max("id")
    )
    if bounds["low"] is None:
        return
    for start in range(bounds["low"], bounds["high"] + 1, batch):
        yield start, min(start + batch - 1, bounds["high"])
