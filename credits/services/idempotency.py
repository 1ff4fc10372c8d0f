"""One idempotency mechanism for every ledger mutation (`run_idempotent`)."""

import hashlib
import json
from collections.abc import Callable
from typing import TypeVar

from django.db import connection, transaction
from django.utils import timezone

from credits.actors import Actor
from credits.errors import CreditRefusal, IdempotencyConflict, InvalidRequest, refusal_for_code
from credits.models import CreditTransaction, IdempotencyRecord

Result = TypeVar("Result", bound=CreditTransaction | None)

MAX_KEY_LENGTH = 255


def run_idempotent(
    *,
    actor: Actor,
    key: str,
    operation: str,
    params: dict,
    perform: Callable[[IdempotencyRecord], Result],
) -> Result:
    """Run `perform` once per (caller, key); replay its outcome for the same request after that.

    The key is claimed first, inside the same database transaction as the work, so concurrent
    requests with one key wait for each other and all but the first replay its result. A
    `CreditRefusal` from `perform` is stored and re-raised; `perform` must raise refusals before
    it writes anything it would not keep. Any other exception rolls everything back, key included,
    so the request can be retried as new.
    """
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(f"An idempotency key of 1 to {MAX_KEY_LENGTH} characters is required.")
    fingerprint = _fingerprint(operation, params)
    scope = actor.idempotency_scope
    with transaction.atomic():
        record = _claim(scope=scope, key=key, operation=operation, fingerprint=fingerprint)
        if record is None:
            return _replay(scope=scope, key=key, fingerprint=fingerprint)
        try:
            return perform(record)
        except CreditRefusal as refusal:
            IdempotencyRecord.objects.filter(pk=record.pk).update(
                refusal_code=refusal.code, refusal_message=refusal.message
            )
            refused = refusal
    raise refused


def _fingerprint(operation: str, params: dict) -> str:
    canonical = json.dumps({"operation": operation, **params}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _claim(*, scope: str, key: str, operation: str, fingerprint: str) -> IdempotencyRecord | None:
    """Insert the key's record; None if the key was already taken (by a committed request)."""
    table = connection.ops.quote_name(IdempotencyRecord._meta.db_table)
    columns = ", ".join(
        connection.ops.quote_name(name)
        for name in ("scope", "key", "operation", "fingerprint", "refusal_code", "refusal_message")
    )
    now = timezone.now()
    with connection.cursor() as cursor:
        # ON CONFLICT DO NOTHING waits for a concurrent claim of the same key to finish, then
        # either inserts (it rolled back) or returns no row (it committed).
        cursor.execute(
            f"INSERT INTO {table} ({columns}, created_at) VALUES (%s, %s, %s, %s, '', '', %s) "  # noqa: S608 (names are ours, values are parameters)
            f"ON CONFLICT (scope, {connection.ops.quote_name('key')}) DO NOTHING RETURNING id",
            [scope, key, operation, fingerprint, now],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return IdempotencyRecord(
        pk=row[0],
        scope=scope,
        key=key,
        operation=operation,
        fingerprint=fingerprint,
        created_at=now,
    )


def _replay(*, scope: str, key: str, fingerprint: str) -> CreditTransaction | None:
    record = IdempotencyRecord.objects.get(scope=scope, key=key)
    if record.fingerprint != fingerprint:
        raise IdempotencyConflict(
            f"The idempotency key {key!r} was already used for a different request."
        )
    if record.refusal_code:
        raise refusal_for_code(record.refusal_code)(record.refusal_message)
    return CreditTransaction.objects.filter(idempotency_record=record).first()
