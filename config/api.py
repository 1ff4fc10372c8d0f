"""What every API endpoint shares: the error shape for domain errors, pagination, and replayed
responses for Idempotency-Key."""

import hashlib
import json
import re
from datetime import UTC
from functools import wraps

import django_filters
from django import forms
from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from drf_standardized_errors.handler import ExceptionHandler
from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import exceptions, serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import ErrorDetail
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.permissions import BasePermission
from rest_framework.response import Response

from accounts.two_factor import passed_two_factor
from billing.errors import BillingError
from config import faults
from config.fields import is_ascii_digits
from config.schema import IDEMPOTENCY_KEY_HEADER
from credits.actors import Actor
from credits.errors import CreditError, CreditRefusal, IdempotencyConflict, InvalidRequest
from credits.models import IdempotencyRecord
from credits.services.retention import MIN_RETENTION
from disputes.services import DisputeError
from integrations.models import StoredResponse

# One limit, the API's: 1 to 200 visible ASCII characters. The ledger's own keys hold 255, and
# the API's reach it as "api:<key>", so every key this accepts fits there too.
IDEMPOTENCY_KEY_MAX_LENGTH = 200
IDEMPOTENCY_KEY = re.compile(rf"[!-~]{{1,{IDEMPOTENCY_KEY_MAX_LENGTH}}}")
IDEMPOTENCY_KEY_RULE = (
    f"1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters, without spaces (a UUID is "
    "a good key)"
)

IDEMPOTENCY_HEADER = OpenApiParameter(
    name=IDEMPOTENCY_KEY_HEADER,
    type={
        "type": "string",
        "minLength": 1,
        "maxLength": IDEMPOTENCY_KEY_MAX_LENGTH,
        "pattern": "^[!-~]+$",
    },
    location=OpenApiParameter.HEADER,
    required=True,
    description=(
        f"A unique key per operation: {IDEMPOTENCY_KEY_RULE}. Retrying with the same key and "
        "body replays the first response and does nothing again; the same key with another "
        "body is refused (409). A missing key, or one that breaks this rule, is a 400 "
        f"validation error with `attr` `{IDEMPOTENCY_KEY_HEADER}` (code `required` or "
        "`invalid`), and nothing is done."
    ),
)


class DomainError(serializers.Serializer):
    code = serializers.CharField(help_text="e.g. insufficient_credits, hold_not_open")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class DomainErrorResponse(serializers.Serializer):
    """A refusal (422) or an idempotency conflict (409), in the one error shape."""

    type = serializers.ChoiceField(choices=[("client_error", "client_error")])
    errors = DomainError(many=True)


# What every endpoint that moves credits may answer besides its success.
REFUSALS = {
    409: OpenApiResponse(DomainErrorResponse, description="The Idempotency-Key was used for "
                         "another request (idempotency_conflict), or so long ago that its "
                         "response is no longer kept (idempotency_key_expired): nothing was "
                         "done."),
    422: OpenApiResponse(DomainErrorResponse, description="Refused: not enough credits, a "
                         "wallet that is not active, a hold that is not open…"),
}  # fmt: skip


class Refused(exceptions.APIException):
    """A well-formed request the ledger refuses (not enough credits, a frozen wallet…)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "refused"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "idempotency_conflict"


class BadRequest(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid_request"


class DomainErrorHandler(ExceptionHandler):
    """The services' typed errors, in the API's one error shape, with their own codes."""

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        busy = faults.api_exception_for(exc)
        if busy is not None:
            return busy
        if isinstance(exc, IdempotencyConflict):
            return Conflict(exc.message)
        if isinstance(exc, CreditRefusal):
            return Refused(exc.message, code=exc.code)
        if isinstance(exc, InvalidRequest):
            return BadRequest(exc.message)
        if isinstance(exc, CreditError | DisputeError | BillingError):
            return Refused(exc.message)
        return super().convert_known_exceptions(exc)

    def report_exception(self, exc, response) -> None:
        # A busy database is an expected condition (logged as a warning), not a crash to report.
        if not isinstance(exc, faults.DatabaseBusy):
            super().report_exception(exc, response)


class StrictPageSize:
    """A page_size that is not a whole number from 1 to the maximum is a 400, not ignored."""

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not is_ascii_digits(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {"page_size": [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters


class StrictFilterSet(django_filters.FilterSet):
    """A typed filter (a date, a choice) given with no value is a 400; django-filter would
    quietly ignore it. The error uses the field's own code, as the schema documents."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        refused = False
        for name, field in self.form.fields.items():
            code = next((c for c in ("invalid_choice", "invalid") if c in field.error_messages), "")
            if code and name in self.data and self.data[name] == "":
                message = "Give a value, or leave the parameter out."
                self.form.add_error(name, forms.ValidationError(message, code=code))
                refused = True
        return valid and not refused


class UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """Any ISO 8601 offset in, UTC out: PostgreSQL refuses offsets beyond ±15:59."""

    def clean(self, value):
        cleaned = super().clean(value)
        if cleaned is None:
            return None
        try:
            return cleaned.astimezone(UTC)
        except OverflowError as error:
            raise forms.ValidationError("This date is out of range.", code="invalid") from error


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


# Put on every paginated list view, so the schema documents the page_size refusal.
page_size_errors = extend_validation_errors(["invalid"], field_name="page_size", methods=["get"])


class HistoryCursor(StrictPageSize, CursorPagination):
    """Stable while new rows arrive: pages follow ids, not offsets."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = "-id"


class Pages(StrictPageSize, PageNumberPagination):
    def get_page_number(self, request, paginator):
        number = request.query_params.get(self.page_query_param)
        if number is not None and not is_ascii_digits(number):
            raise exceptions.NotFound("Invalid page: give a page number from 1.")
        return super().get_page_number(request, paginator)

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"


def valid_data(serializer_class, request) -> dict:
    """The request body, validated (a 400 in the error shape, field by field, otherwise)."""
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def actor_for(request) -> Actor:
    """Who calls a user endpoint: the signed-in person as a user, even when they are staff (a
    staff member's own wallet gets no staff powers)."""
    return Actor.for_user(request.user)


def staff_actor(request) -> Actor:
    """Who calls a staff endpoint (StaffPermission has let only staff through)."""
    return Actor.for_staff(request.user)


class StaffPermission(BasePermission):
    """The one gate of every staff endpoint (/api/v1/admin/).

    The caller must be an active staff member, signed in with a session that passed two-factor
    (a long-lived token never reaches staff powers), holding the Django model permissions the
    view declares for the method in `required_permissions` — the same ones the admin asks for
    the same act. A view that declares none for a method refuses it: the gate fails closed.
    """

    def has_permission(self, request, view) -> bool:
        required = required_permissions(view, request.method)
        if required is None:
            raise exceptions.PermissionDenied("This staff endpoint declares no permission.")
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            raise exceptions.PermissionDenied("Staff only.")
        if not isinstance(request.successful_authenticator, SessionAuthentication) or not (
            passed_two_factor(request._request)
        ):
            raise exceptions.PermissionDenied(
                "Staff endpoints need a signed-in session that passed two-factor; API tokens "
                "are not accepted here.",
                code="two_factor_required",
            )
        missing = [name for name in required if not user.has_perm(name)]
        if missing:
            raise exceptions.PermissionDenied(
                f"You need the permission {', '.join(missing)} for this.",
                code="permission_denied",
            )
        return True


def required_permissions(view, method: str) -> tuple[str, ...] | None:
    """The permissions a staff view declares for `method` (HEAD and OPTIONS read as GET)."""
    declared = getattr(view, "required_permissions", None) or {}
    method = "GET" if method in ("HEAD", "OPTIONS") else method
    found = declared.get(method)
    if found is None:
        return None
    return (found,) if isinstance(found, str) else tuple(found)


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
        key = _idempotency_key(request)
        scope = actor_for(request).idempotency_scope
        fingerprint = _fingerprint(request)
        stored = StoredResponse.objects.filter(scope=scope, key=key).first()
        if stored is not None:
            return _replay(stored, fingerprint)
        _refuse_a_pruned_key(scope, key)
        request.idempotency_key = key
        try:
            response = view_method(self, request, *args, **kwargs)
        except (CreditError, DisputeError, BillingError, exceptions.APIException) as error:
            response = self.handle_exception(error)
        if response.status_code in STORED_STATUSES:
            _store(scope, key, fingerprint, response)
        return response

    wrapper.takes_idempotency_key = True  # config.schema documents the key's 400
    return wrapper


def _idempotency_key(request) -> str:
    """The request's Idempotency-Key, or a 400 naming the header and the rule it breaks."""
    key = request.headers.get(IDEMPOTENCY_KEY_HEADER)
    if key is None:
        message, code = (
            f"An {IDEMPOTENCY_KEY_HEADER} header is required: {IDEMPOTENCY_KEY_RULE}.",
            "required",
        )
    elif not IDEMPOTENCY_KEY.fullmatch(key):
        message, code = f"The {IDEMPOTENCY_KEY_HEADER} must be {IDEMPOTENCY_KEY_RULE}.", "invalid"
    else:
        return key
    raise exceptions.ValidationError({IDEMPOTENCY_KEY_HEADER: [ErrorDetail(message, code=code)]})


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
        raise Conflict(
            f"This {IDEMPOTENCY_KEY_HEADER} was first used on {first_used:%Y-%m-%d}, longer ago "
            "than its response is kept, so the request is not run again: nothing was done. "
            "Send a new request with a new key.",
            code="idempotency_key_expired",
        )


def _replay(stored: StoredResponse, fingerprint: str) -> Response:
    if stored.fingerprint != fingerprint:
        raise Conflict("This Idempotency-Key was already used for a different request.")
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
