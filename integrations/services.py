"""Writes to the API's infrastructure: pruning the responses stored for Idempotency-Key."""

from datetime import datetime

from integrations.models import StoredResponse


def prune_stored_responses(*, before: datetime, dry_run: bool = False, batch: int = 1000) -> int:
    """Delete the responses stored for keys first used before `before`; return how many (or,
    with `dry_run`, would be).

    A retry with such a key is answered 409 when its request moved credits (the ledger keeps
    that key's record, config.api), and runs as a new request when it was refused (its record
    is pruned with it): nothing is ever done twice.
    """
    old = StoredResponse.objects.filter(created_at__lt=before)
    if dry_run:
        return old.count()
    deleted = 0
    while ids := list(old.values_list("id", flat=True)[:batch]):
        # Short statements, each its own transaction: safe beside live traffic.
        deleted += StoredResponse.objects.filter(pk__in=ids).delete()[0]
    return deleted
