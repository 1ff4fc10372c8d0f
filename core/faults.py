"""A busy database answers 503, never a stalled worker or a 500.

A statement that waited longer than the lock timeout for a row another transaction holds (a
wallet being spent from), or ran longer than the statement timeout, is stopped by PostgreSQL;
SQLite gives up on its write lock the same way. The operation's database transaction rolls
back, so nothing of it is kept, neither its work nor an answer under its Idempotency-Key: the
client retries it, with the same key, and it takes effect once. (A staff step over several
wallets keeps what it did for the wallets before; each wallet has its own key, so a retry does
the rest, once.) Pages and the API both answer
503 with Retry-After (the API in its one error shape).
"""

import logging
import sqlite3
import sys

from django.db import OperationalError, models
from django.http import HttpRequest, HttpResponse
from django.template import loader
from drf_standardized_errors.openapi_serializers import ServerErrorEnum
from rest_framework import exceptions, serializers, status

from core.api.responses import API_PREFIX, api_error

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 2

# PostgreSQL's SQLSTATEs: lock_not_available (lock_timeout) and query_canceled
# (statement_timeout, or an operator's pg_cancel_backend).
LOCK_NOT_AVAILABLE = "55P03"
QUERY_CANCELED = "57014"

BUSY_DETAIL = {
    "lock": "The database is busy with another request on the same data, so this one was "
    "stopped. Retry it in a few seconds; a POST retried with the same Idempotency-Key takes "
    "effect once.",
    "statement": "This request took too long and was stopped. Retry it in a few seconds; a "
    "POST retried with the same Idempotency-Key takes effect once.",
}


def busy_database(error: BaseException | None) -> str | None:
    """'lock' or 'statement' when `error` is the database giving up on waiting; else None."""
    if not isinstance(error, OperationalError):
        return None
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate == LOCK_NOT_AVAILABLE:
        return "lock"
    if sqlstate == QUERY_CANCELED:
        return "statement"
    # SQLite: "database is locked" (busy_timeout ran out), or "database table is locked" (a
    # shared-cache database, as the test suite's in-memory one).
    if isinstance(cause, sqlite3.OperationalError) and "is locked" in str(cause):
        return "lock"
    return None


class DatabaseBusy(exceptions.APIException):
    """The API's answer to a busy database: 503 in the error shape, with Retry-After."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_busy"
    default_detail = BUSY_DETAIL["lock"]
    wait = RETRY_AFTER_SECONDS


def api_exception_for(error: BaseException) -> DatabaseBusy | None:
    """The APIException the API's error handler answers for a busy database, or None."""
    kind = busy_database(error)
    if kind is None:
        return None
    logger.warning("database busy (%s): %s", kind, error)
    return DatabaseBusy(BUSY_DETAIL[kind])


def busy_response(request: HttpRequest, kind: str) -> HttpResponse:
    """503 with Retry-After: the API's error shape under /api/, the 503 page elsewhere."""
    if request.path.startswith(API_PREFIX):
        response = api_error(
            status=503, error_type="server_error", code="database_busy", detail=BUSY_DETAIL[kind]
        )
    else:
        # Rendered without a request context, as the 500 page is: it needs no database.
        response = HttpResponse(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseBusyMiddleware:
    """Pages (and anything outside DRF) whose view found the database busy answer 503."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        kind = busy_database(exception)
        if kind is None:
            return None
        logger.warning("database busy (%s) on %s: %s", kind, request.path, exception)
        return busy_response(request, kind)


def busy_response_for_current_error(request: HttpRequest) -> HttpResponse | None:
    """For the 500 handler: a busy database outside any view (a middleware reading the session
    or the signed-in user) is a 503 too."""
    kind = busy_database(sys.exc_info()[1])
    return busy_response(request, kind) if kind else None


# --- the schema ----------------------------------------------------------------------------------


class ErrorCode503Enum(models.TextChoices):
    DATABASE_BUSY = "database_busy"


class Error503Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ErrorCode503Enum.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse503Serializer(serializers.Serializer):
    """The database was busy; retry after Retry-After seconds (with the same Idempotency-Key)."""

    type = serializers.ChoiceField(choices=ServerErrorEnum.choices)
    errors = Error503Serializer(many=True)
