"""One idempotency mechanism for every ledger mutation (`run_idempotent`), and its pruning."""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import connection, transaction
from django.utils import timezone

from credits.actors import Actor
from credits.errors import CreditRefusal, IdempotencyConflict, InvalidRequest, refusal_for_code
from credits.models import CreditGrant, CreditTransaction, IdempotencyRecord, Wallet
from credits.services.ledger import claim_and_lock_wallet

Result = TypeVar("Result", bound=CreditTransaction | None)

MAX_KEY_LENGTH = 255

# How long the records of keys are kept: by default (`manage.py idempotency_prune`), and at least
# (no prune goes below it, so a key is never forgotten while its request may still be retried).
DEFAULT_RETENTION = timedelta(days=30)
MIN_RETENTION = timedelta(days=1)


@dataclass
class Claim:
    """A key claimed for a new request, and the wallet locked with it if one was asked for."""

    record_id: int
    wallet: Wallet | None = None
    grants: list[CreditGrant] | None = None


def run_idempotent(
    *,
    actor: Actor,
    key: str,
    operation: str,
    params: dict,
    perform: Callable[[Claim], Result],
    lock_wallet: int | None = None,
) -> Result:
    """Run `perform` once per (caller, key); replay its outcome for the same request after that.

    The key is claimed first, inside the same database transaction as the work, so concurrent
    requests with one key wait for each other and all but the first replay its result. A
    `CreditRefusal` from `perform` is stored and re-raised; `perform` must raise refusals before
    it writes anything it would not keep. Any other exception rolls everything back, key included,
    so the request can be retried as new.

    `lock_wallet` (a wallet id) claims the key, locks that wallet and reads its spendable grants
    in one round trip on PostgreSQL: the hot path of spends and holds.
    """
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(f"An idempotency key of 1 to {MAX_KEY_LENGTH} characters is required.")
    fingerprint = _fingerprint(operation, params)
    scope = actor.idempotency_scope
    row = [scope, key, operation, fingerprint]
    with transaction.atomic():
        if lock_wallet is None:
            record_id, wallet, grants = _claim(row), None, None
        else:
            record_id, wallet, grants = claim_and_lock_wallet(CLAIM_SQL, row, lock_wallet)
        if record_id is None:
            return _replay(scope=scope, key=key, fingerprint=fingerprint)
        try:
            return perform(Claim(record_id=record_id, wallet=wallet, grants=grants))
        except CreditRefusal as refusal:
            IdempotencyRecord.objects.filter(pk=record_id).update(
                refusal_code=refusal.code, refusal_message=refusal.message
            )
            refused = refusal
    raise refused


def _fingerprint(operation: str, params: dict) -> str:
    canonical = json.dumps({"operation": operation, **params}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


# ON CONFLICT DO NOTHING waits for a concurrent claim of the same key to finish, then either
# inserts (it rolled back) or returns no row (it committed).
CLAIM_SQL = (
    f"INSERT INTO {IdempotencyRecord._meta.db_table} "  # noqa: S608 (our table name)
    "(scope, key, operation, fingerprint, refusal_code, refusal_message, created_at) "
    "VALUES (%s, %s, %s, %s, '', '', CURRENT_TIMESTAMP) "
    "ON CONFLICT (scope, key) DO NOTHING RETURNING id"
)


def _claim(row: list) -> int | None:
    """Insert the key's record; its id, or None if the key was already taken."""
    with connection.cursor() as cursor:
        cursor.execute(CLAIM_SQL, row)
        found = cursor.fetchone()
    return found[0] if found else None


def _replay(*, scope: str, key: str, fingerprint: str) -> CreditTransaction | None:
    record = IdempotencyRecord.objects.get(scope=scope, key=key)
    if record.fingerprint != fingerprint:
        raise IdempotencyConflict(
            f"The idempotency key {key!r} was already used for a different request."
        )
    if record.refusal_code:
        raise refusal_for_code(record.refusal_code)(record.refusal_message)
    return CreditTransaction.objects.filter(idempotency_record=record).first()


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
