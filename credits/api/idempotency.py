"""Idempotency-Key on the API: the first response the work gave is kept and replayed."""

import hashlib
import json
from functools import wraps

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.response import Response

from core.api.idempotency import IDEMPOTENCY_KEY_HEADER, idempotency_key
from core.errors import DomainError
from credits.actors import Actor
from credits.errors import IdempotencyConflict
from credits.models import IdempotencyRecord
from credits.services.retention import MIN_RETENTION
from integrations.models import StoredResponse


def actor_for(request) -> Actor:
    """Who calls a user endpoint: the signed-in person as a user, even when they are staff (a
    staff member's own wallet gets no staff powers)."""
    return Actor.for_user(request.user)


def staff_actor(request) -> Actor:
    """Who calls a staff endpoint (StaffPermission has let only staff through)."""
    return Actor.for_staff(request.user)


def idempotent(view_method):
    """Make a POST handler honour Idempotency-Key as Stripe does.

    A missing key is refused (400), so every retry is safe. The first response that the work
    itself gave (a success, or a business refusal: 422) is stored under the caller's key and
    replayed for a retry with the same request; another request with that key gets 409. As at
    Stripe, a request refused before any work began (invalid input, an unknown id) stores
    nothing, so the caller may correct it and retry under the same key. The services are
    idempotent under the same key too, so even two retries racing each other move credits once.
    """

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = idempotency_key(request)
        scope = actor_for(request).idempotency_scope
        fingerprint = _fingerprint(request)
        stored = StoredResponse.objects.filter(scope=scope, key=key).first()
        if stored is not None:
            return _replay(stored, fingerprint)
        _refuse_a_pruned_key(scope, key)
        request.idempotency_key = key
        try:
            response = view_method(self, request, *args, **kwargs)
        except (DomainError, exceptions.APIException) as error:
            response = self.handle_exception(error)
        if response.status_code in STORED_STATUSES:
            _store(scope, key, fingerprint, response)
        return response

    wrapper.takes_idempotency_key = True  # core.api.schema documents the key's 400
    return wrapper


# What the work answered: successes and business refusals. Not 400/404 (nothing began) nor 409.
STORED_STATUSES = {200, 201, 202, status.HTTP_422_UNPROCESSABLE_ENTITY}


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _refuse_a_pruned_key(scope: str, key: str) -> None:
    """409 for a key whose stored response `idempotency_prune` deleted while the ledger kept its
    record (its request moved credits): it is never run again. A record younger than any
    retention is a response that was never stored (the process stopped between the work and
    storing it): the view then runs, and the ledger replays the work instead of redoing it."""
    first_used = (
        IdempotencyRecord.objects.filter(
            scope=scope, key=f"api:{key}", created_at__lt=timezone.now() - MIN_RETENTION
        )
        .values_list("created_at", flat=True)
        .first()
    )
    if first_used is not None:
        raise IdempotencyConflict(
            f"This {IDEMPOTENCY_KEY_HEADER} was first used on {first_used:%Y-%m-%d}, longer ago "
            "than its response is kept, so the request is not run again: nothing was done. "
            "Send a new request with a new key.",
            code="idempotency_key_expired",
        )


def _replay(stored: StoredResponse, fingerprint: str) -> Response:
    if stored.fingerprint != fingerprint:
        raise IdempotencyConflict("This Idempotency-Key was already used for a different request.")
    response = Response(stored.body, status=stored.status_code)
    response["Idempotent-Replayed"] = "true"
    return response


def _store(scope: str, key: str, fingerprint: str, response: Response) -> None:
    try:
        with transaction.atomic():
            StoredResponse.objects.create(
                scope=scope,
                key=key,
                fingerprint=fingerprint,
                status_code=response.status_code,
                body=response.data,
            )
    except IntegrityError:
        pass  # a racing retry stored the same response first
