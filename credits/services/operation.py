"""The unit of work of every ledger operation (`run_operation`): one database transaction that
claims the idempotency key, lets the operation decide under its locks, and writes its posting.

An operation never writes by itself: it records what it decided in the `Posting` it is given,
and `run_operation` writes that once, whether the operation returns or refuses, so none can
forget to write or write twice.

A caller that answers for the operation (the API) hands an `Answering` over with `answering()`:
what it answers is then kept on the key's record in the same statement as the work (PostgreSQL;
in the same transaction on SQLite), and a retry under the key gets those very bytes back.
"""

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from django.db import connection, transaction
from django.utils import timezone

from credits.actors import Actor
from credits.errors import CreditRefusal, IdempotencyConflict, InvalidRequest, refusal_for_code
from credits.models import CreditGrant, CreditTransaction, IdempotencyRecord, Wallet
from credits.services import one_call as one_call_
from credits.services.locks import claim, claim_and_lock_wallet
from credits.services.posting import Posting

Result = TypeVar("Result", bound=CreditTransaction | None)

MAX_KEY_LENGTH = 255


@dataclass
class Answering:
    """A caller answering for the operation under its key (the API): how to answer a result or
    a refusal as (status, body bytes), and, once known, what was answered."""

    scope: str
    key: str
    request_fingerprint: str
    answer: Callable[[object], tuple[int, bytes]]
    answer_refusal: Callable[[CreditRefusal], tuple[int, bytes]]
    # A result is answered before the write only when its answer names no row still unwritten:
    # the reserved transaction id covers a transaction, not, say, a new hold.
    answer_before_write: Callable[[object], bool]
    # What makes every answer alike in which of the result's figures it shows (the view's
    # serializer), so one_call learns that once; None to learn it on every answer.
    answer_shape: object = None
    answered: tuple[int, bytes] | None = None
    replayed: bool = False


class AlreadyAnswered(Exception):
    """The key's record already holds what was answered: the caller sends it again."""


_answering: ContextVar[Answering | None] = ContextVar("answering", default=None)


@contextmanager
def answering(answering: Answering) -> Iterator[Answering]:
    """Within this block, the operation run under `answering`'s scope and key keeps its answer."""
    token = _answering.set(answering)
    try:
        yield answering
    finally:
        _answering.reset(token)


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
    one_call: Callable[[one_call_.Call], Result] | None = None,
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

    `one_call`, where PostgreSQL's function can run the operation (credits.services.one_call),
    runs it in one round trip instead; when the function hands it back (it is not the plain
    case) the operation runs here as on SQLite.
    """
    if not isinstance(key, str) or not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise InvalidRequest(f"An idempotency key of 1 to {MAX_KEY_LENGTH} characters is required.")
    fingerprint = _fingerprint(operation, params)
    scope = actor.idempotency_scope
    now = now or timezone.now()
    # Dated by this process's clock, as the transactions it writes are.
    row = [scope, key, operation, fingerprint, connection.ops.adapt_datetimefield_value(now)]
    caller = _answering.get()
    if caller is not None and (caller.scope, caller.key) != (scope, key):
        caller = None  # an operation inside another one's: not what the caller answers for
    if one_call is not None and one_call_.available(actor, connection.vendor):
        try:
            done = one_call(one_call_.Call(row=row, caller=caller, now=now))
        except one_call_.HandedBack:
            pass
        else:
            if done is one_call_.REPLAYED:
                return _replay(scope=scope, key=key, fingerprint=fingerprint, caller=caller)
            return done
    with transaction.atomic():
        if lock_wallet is None:
            claimed, wallet, grants = claim(row), None, None
        else:
            claimed, wallet, grants = claim_and_lock_wallet(row, lock_wallet)
        if claimed.record_id is None:
            return _replay(scope=scope, key=key, fingerprint=fingerprint, caller=caller)
        posting = Posting(
            actor=actor,
            now=now,
            record_id=claimed.record_id,
            transaction_id=claimed.transaction_id,
        )
        try:
            result = perform(posting, Claim(wallet=wallet, grants=grants))
        except CreditRefusal as refusal:
            posting.keep_on_record(refusal_code=refusal.code, refusal_message=refusal.message)
            if caller is not None:
                _keep_answer(posting, caller, caller.answer_refusal(refusal))
            posting.write()
            refused = refusal
        else:
            _write_answering(posting, caller, result)
            return result
    raise refused


def _write_answering(posting: Posting, caller: Answering | None, result) -> None:
    """Write the posting, with the caller's answer in the same statement when it can be made
    before the write (every id it names is known), else right after, in the same transaction."""
    if caller is None:
        posting.write()
    elif caller.answer_before_write(result):
        _keep_answer(posting, caller, caller.answer(result))
        posting.write()
    else:
        posting.write()
        status, body = caller.answer(result)
        caller.answered = (status, body)
        IdempotencyRecord.objects.filter(pk=posting.record_id).update(
            response_status=status,
            response_body=body.decode(),
            request_fingerprint=caller.request_fingerprint,
        )


def _keep_answer(posting: Posting, caller: Answering, answer: tuple[int, bytes]) -> None:
    status, body = answer
    caller.answered = answer
    posting.keep_on_record(
        response_status=status,
        response_body=body.decode(),
        request_fingerprint=caller.request_fingerprint,
    )


def _fingerprint(operation: str, params: dict) -> str:
    canonical = json.dumps({"operation": operation, **params}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(
    *, scope: str, key: str, fingerprint: str, caller: Answering | None
) -> CreditTransaction | None:
    record = IdempotencyRecord.objects.get(scope=scope, key=key)
    if record.fingerprint != fingerprint:
        raise IdempotencyConflict(
            f"The idempotency key {key!r} was already used for a different request."
        )
    if caller is not None and record.response_status is not None:
        # A racing twin of this request committed first: send its answer, byte for byte.
        if record.request_fingerprint != caller.request_fingerprint:
            raise IdempotencyConflict(
                f"The idempotency key {key!r} was already used for a different request."
            )
        caller.answered = (record.response_status, record.response_body.encode())
        caller.replayed = True
        raise AlreadyAnswered
    if record.refusal_code:
        raise refusal_for_code(record.refusal_code)(record.refusal_message)
    return CreditTransaction.objects.filter(idempotency_record=record).first()
