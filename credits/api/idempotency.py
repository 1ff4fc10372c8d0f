"""Idempotency-Key on the API, as Stripe does it, on the ledger's own record of the key.

The API's key is the ledger's key (scoped per caller): there is one record of it, and what the
API answered (status and body, byte for byte) is kept on that record in the same database
transaction as the work. So:

- same key, same request: the first answer again (`Idempotent-Replayed: true`), nothing redone;
- same key, another request: 409;
- a request refused before any work (400, 404) keeps nothing, so it can be corrected and sent
  again under the same key; a ledger refusal (422) is kept and answered again;
- a key first used longer ago than the retention, whose answer `idempotency_prune` let go while
  the ledger kept its record (its request moved credits), is a 409: it never runs twice.

See docs/idempotency.md for every case and the test that proves it.
"""

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps

from django.db import IntegrityError, connection, transaction
from django.http import HttpResponse
from django.utils import timezone
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from core.api.idempotency import IDEMPOTENCY_KEY_HEADER, idempotency_key
from core.api.representation import represent
from core.errors import DomainError
from credits.actors import Actor
from credits.errors import IdempotencyConflict
from credits.models import CreditTransaction, IdempotencyRecord, Wallet
from credits.services.locks import WALLET_COLUMNS, WALLET_ROW
from credits.services.operation import AlreadyAnswered, Answering, answering
from credits.services.retention import MIN_RETENTION

# What the work answered: successes and business refusals. Not 400/404 (nothing began) nor 409.
KEPT_STATUSES = {200, 201, 202, 422}


def actor_for(request) -> Actor:
    """Who calls a user endpoint: a partner app acting for the user (its credential names the
    app), or else the signed-in person as a user, even when they are staff (a staff member's own
    wallet gets no staff powers)."""
    partner = getattr(request.auth, "actor", None)
    if isinstance(partner, Actor):
        return partner
    return Actor.for_user(request.user)


def staff_actor(request) -> Actor:
    """Who calls a staff endpoint (StaffPermission has let only staff through)."""
    return Actor.for_staff(request.user)


def created(serializer_class) -> Callable[[object], Response]:
    """The answer to a POST that made something: 201 with it, serialized."""
    representation = represent(serializer_class)
    return lambda result: Response(representation(result), status=201)


def ok(serializer_class) -> Callable[[object], Response]:
    """The answer to a POST that changed something: 200 with it, serialized."""
    representation = represent(serializer_class)
    return lambda result: Response(representation(result), status=200)


def idempotent(answer: Callable[[object], Response], *, ledger_result: bool = True):
    """Make a POST handler honour Idempotency-Key. The handler returns what its service
    returned, and `answer` turns that into the API's response.

    With `ledger_result` the handler's result is the ledger operation's own (the transaction the
    key posts), so the answer is kept by the operation, in the same statement as its work. A
    handler whose result is something else (a staff grant that may become an approval request)
    says `ledger_result=False`: its answer is kept right after its service, which is itself
    idempotent under the key, so a crash in between only means the next retry answers anew.
    """

    def decorate(view_method):
        @wraps(view_method)
        def wrapper(self, request, *args, **kwargs):
            key = idempotency_key(request)
            scope = actor_for(request).idempotency_scope
            fingerprint = _fingerprint(request)
            kept = _kept_answer(request, scope, key, fingerprint)
            if kept is not None:
                return _response(*kept, replayed=True)
            request.idempotency_key = key
            caller = Answering(
                scope=scope,
                key=key,
                request_fingerprint=fingerprint,
                answer=lambda result: _rendered(answer(result)),
                answer_refusal=lambda refusal: _rendered(self.handle_exception(refusal)),
                answer_before_write=_names_only_reserved_ids,
                answer_shape=answer,
            )
            return _run(self, request, view_method, args, kwargs, caller, answer, ledger_result)

        wrapper.takes_idempotency_key = True  # core.api.schema documents the key's 400
        return wrapper

    return decorate


def _run(self, request, view_method, args, kwargs, caller, answer, ledger_result):
    try:
        if ledger_result:
            with answering(caller):
                result = view_method(self, request, *args, **kwargs)
        else:
            result = view_method(self, request, *args, **kwargs)
    except AlreadyAnswered:
        return _response(*caller.answered, replayed=True)
    except DomainError as error:
        if caller.answered is not None:  # a ledger refusal, kept with the work
            return _response(*caller.answered, replayed=caller.replayed)
        return _keep(caller, _rendered(self.handle_exception(error)))
    if caller.answered is not None:
        return _response(*caller.answered, replayed=caller.replayed)
    return _keep(caller, _rendered(answer(result)))


def _names_only_reserved_ids(result) -> bool:
    """Whether the answer for `result` can be made before the posting is written: it names a
    transaction whose id was reserved, and no new hold (whose id the database gives)."""
    if not isinstance(result, CreditTransaction) or result.pk is None:
        return False
    return result.hold_id is not None or result.hold is None


def _rendered(response: Response) -> tuple[int, bytes]:
    """A DRF response as the API sends it: its status and its JSON body's bytes."""
    return response.status_code, JSONRenderer().render(response.data)


def _response(status: int, body: bytes, *, replayed: bool) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json")
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


# What a key already answered, and the caller's wallet, in one statement before any work: the
# endpoints that move credits need both, and a replay then needs nothing more.
KEPT_ANSWER_SQL = (
    f"SELECT {', '.join(f'w.{name}' for name in WALLET_COLUMNS)}, r.request_fingerprint, "  # noqa: S608 (our tables)
    "r.response_status, r.response_body, r.refusal_code, r.created_at "
    f"FROM {Wallet._meta.db_table} w LEFT JOIN {IdempotencyRecord._meta.db_table} r "
    "ON r.scope = %s AND r.key = %s WHERE w.user_id = %s"
)


def _kept_answer(request, scope: str, key: str, fingerprint: str) -> tuple[int, bytes] | None:
    """What this key already answered (the caller's wallet comes along, cached on the user);
    a 409 for another request under the key, or for a key so old its answer was let go although
    its request moved credits."""
    with connection.cursor() as cursor:
        cursor.execute(KEPT_ANSWER_SQL, [scope, key, request.user.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(WALLET_COLUMNS)
    request.user.wallet = WALLET_ROW.build(row[:width], connection.alias)
    kept_fingerprint, status, body, refusal_code, first_used = row[width:]
    if first_used is None:
        return None  # a new key
    if status is not None:
        if kept_fingerprint != fingerprint:
            raise IdempotencyConflict(
                f"This {IDEMPOTENCY_KEY_HEADER} was already used for a different request."
            )
        return status, body.encode()
    if not refusal_code and _parsed(first_used) < timezone.now() - MIN_RETENTION:
        raise IdempotencyConflict(
            f"This {IDEMPOTENCY_KEY_HEADER} was first used on {_parsed(first_used):%Y-%m-%d}, "
            "longer ago than its response is kept, so the request is not run again: nothing "
            "was done. Send a new request with a new key.",
            code="idempotency_key_expired",
        )
    return None  # a record without an answer (kept before answers were): the ledger replays it


def _parsed(value) -> datetime:
    """A timestamp as a raw query reads it: SQLite hands back text, or a naive UTC datetime."""
    if not isinstance(value, datetime):
        value = connection.ops.convert_datetimefield_value(value, None, connection)
    return value if timezone.is_aware(value) else timezone.make_aware(value, UTC)


def _keep(caller: Answering, answer: tuple[int, bytes]) -> HttpResponse:
    """Keep an answer the ledger did not keep (a non-ledger result, a refusal before the ledger
    was asked) on the key's record; if a racing twin kept one first, send that one."""
    status, body = answer
    if status not in KEPT_STATUSES:
        return _response(status, body, replayed=False)
    fields = {
        "response_status": status,
        "response_body": body.decode(),
        "request_fingerprint": caller.request_fingerprint,
    }
    updated = IdempotencyRecord.objects.filter(
        scope=caller.scope, key=caller.key, response_status__isnull=True
    ).update(**fields)
    if not updated:
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.create(
                    scope=caller.scope,
                    key=caller.key,
                    operation="api",
                    fingerprint=caller.request_fingerprint,
                    **fields,
                )
        except IntegrityError:  # a racing twin kept its answer first: send that one
            kept = IdempotencyRecord.objects.filter(scope=caller.scope, key=caller.key).first()
            if kept is not None and kept.response_status is not None:
                return _response(kept.response_status, kept.response_body.encode(), replayed=True)
    return _response(status, body, replayed=False)
