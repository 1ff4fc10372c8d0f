"""The unit of work of every ledger operation (`run_operation`): one database transaction that
claims the idempotency key, lets the operation decide under its locks, and writes its posting.

An operation never writes by itself: it records what it decided in the `Posting` it is given,
and `run_operation` writes that once, whether the operation returns or refuses, so none can
forget to write or write twice.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.db import transaction
from django.utils import timezone

from credits.actors import Actor
from credits.errors import CreditRefusal, IdempotencyConflict, InvalidRequest, refusal_for_code
from credits.models import CreditGrant, CreditTransaction, IdempotencyRecord, Wallet
from credits.services.locks import claim, claim_and_lock_wallet
from credits.services.posting import Posting

Result = TypeVar("Result", bound=CreditTransaction | None)

MAX_KEY_LENGTH = 255


@dataclass
class Claim:
    """The wallet locked with the key, and its spendable grants, if one was asked for."""

    wallet: Wallet | None = None
    grants: list[CreditGrant] | None = None


def run_operation(
    *,
    actor: Actor,
    key: str,
    operation: str,
    params: dict,
    perform: Callable[[Posting, Claim], Result],
    lock_wallet: int | None = None,
    now: datetime | None = None,
) -> Result:
    """Run `perform` once per (caller, key); replay its outcome for the same request after that.

    The key is claimed first, inside the same database transaction as the work, so concurrent
    requests with one key wait for each other and all but the first replay its result. `perform`
    records what it decides in the posting; that is written when it returns, and also when it
    raises a `CreditRefusal` (what it found on the way, such as credits past their date, stands),
    after which the refusal is stored and re-raised: so `perform` must refuse before it records
    anything it would not keep. Any other exception rolls everything back, key included, so the
    request can be retried as new.

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
            record_id, wallet, grants = claim(row), None, None
        else:
            record_id, wallet, grants = claim_and_lock_wallet(row, lock_wallet)
        if record_id is None:
            return _replay(scope=scope, key=key, fingerprint=fingerprint)
        posting = Posting(actor=actor, now=now or timezone.now(), record_id=record_id)
        try:
            result = perform(posting, Claim(wallet=wallet, grants=grants))
        except CreditRefusal as refusal:
            posting.write()
            IdempotencyRecord.objects.filter(pk=record_id).update(
                refusal_code=refusal.code, refusal_message=refusal.message
            )
            refused = refusal
        else:
            posting.write()
            return result
    raise refused


def _fingerprint(operation: str, params: dict) -> str:
    canonical = json.dumps({"operation": operation, **params}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(*, scope: str, key: str, fingerprint: str) -> CreditTransaction | None:
    record = IdempotencyRecord.objects.get(scope=scope, key=key)
    if record.fingerprint != fingerprint:
        raise IdempotencyConflict(
            f"The idempotency key {key!r} was already used for a different request."
        )
    if record.refusal_code:
        raise refusal_for_code(record.refusal_code)(record.refusal_message)
    return CreditTransaction.objects.filter(idempotency_record=record).first()
