"""The API's one error shape, for every error: `{type, errors: [{code, detail, attr}]}`
(drf-standardized-errors), with every `core.errors.DomainError` answered by its own code and
status, and the schema components that document it."""

from drf_spectacular.utils import OpenApiResponse, extend_schema_serializer
from drf_standardized_errors.handler import ExceptionHandler
from rest_framework import exceptions, serializers

from core import faults
from core.errors import DomainError


@extend_schema_serializer(component_name="DomainError")  # its name in the schema
class DomainErrorItem(serializers.Serializer):
    code = serializers.CharField(help_text="e.g. insufficient_credits, hold_not_open")
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class DomainErrorResponse(serializers.Serializer):
    """A refusal (422) or an idempotency conflict (409), in the one error shape."""

    type = serializers.ChoiceField(choices=[("client_error", "client_error")])
    errors = DomainErrorItem(many=True)


# What every endpoint that moves credits may answer besides its success.
REFUSALS = {
    409: OpenApiResponse(DomainErrorResponse, description="The Idempotency-Key was used for "
                         "another request (idempotency_conflict), or so long ago that its "
                         "response is no longer kept (idempotency_key_expired): nothing was "
                         "done."),
    422: OpenApiResponse(DomainErrorResponse, description="Refused: not enough credits, a "
                         "wallet that is not active, a hold that is not open…"),
}  # fmt: skip


class DomainAPIError(exceptions.APIException):
    """A DomainError as DRF carries it: the error's own status, code and message."""

    def __init__(self, error: DomainError):
        self.status_code = error.http_status
        super().__init__(error.message, code=error.code)


class DomainErrorHandler(ExceptionHandler):
    """Every app's typed errors in the one shape, by their own code and status (no list of
    apps); a busy database as a 503 with Retry-After (core.faults)."""

    def convert_known_exceptions(self, exc: Exception) -> Exception:
        busy = faults.api_exception_for(exc)
        if busy is not None:
            return busy
        if isinstance(exc, DomainError) and exc.field:
            # A service's refusal of one input: the same 400 its serializer would give.
            return exceptions.ValidationError({exc.field: [exc.message]}, code="invalid")
        if isinstance(exc, DomainError):
            return DomainAPIError(exc)
        return super().convert_known_exceptions(exc)

    def report_exception(self, exc, response) -> None:
        # A busy database is an expected condition (logged as a warning), not a crash to report.
        if not isinstance(exc, faults.DatabaseBusy):
            super().report_exception(exc, response)
