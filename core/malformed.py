"""Malformed requests are refused with a 4xx before any view sees them, never a 500.

One rule per kind, for every page and endpoint alike:
- a NUL character anywhere a request carries text (its path, query, headers, cookies, form
  fields or body): 400. PostgreSQL cannot store one, so it used to fail deep in a query;
- a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE: 413 (Django's own check raised a 500 from
  inside the API);
- JSON nested deeper than core.api.parsers.MAX_JSON_DEPTH (the API's one parser): 400; Python's
  parser recursed into a RecursionError.
The API answers in its error shape (`parse_error`, as its schema documents on every 400;
`request_too_large`), pages with the site's error page.
"""

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import models
from django.http import HttpRequest, HttpResponse, QueryDict
from django.http.multipartparser import MultiPartParserError
from django.template import loader
from django.views import defaults
from drf_standardized_errors.openapi_serializers import ClientErrorEnum
from rest_framework import serializers

from core.api.responses import API_PREFIX, api_error


class MalformedRequestMiddleware:
    """Refuse a request with a NUL character (400) or an over-large body (413), first thing."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            too_large = _over_limit(request)
            where = None if too_large else _nul_character_in(request)
        except RequestDataTooBig:
            too_large, where = True, None
        except (SuspiciousOperation, MultiPartParserError) as error:  # too many fields or files
            return _bad_request(request, f"The request could not be read: {error}")
        if too_large:
            return _too_large(request)
        if where:
            return _bad_request(
                request,
                f"The request contains a NUL character (in {where}), which no part of a "
                "request may hold.",
            )
        return self.get_response(request)


def _over_limit(request: HttpRequest) -> bool:
    """A body over the limit, by its Content-Length. Multipart bodies may carry files beyond it
    (Django counts only their other fields, when they are read)."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is None or request.content_type == "multipart/form-data":
        return False
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > limit
    except ValueError:
        return False  # Django reads an unreadable length as no body


def _nul_character_in(request: HttpRequest) -> str | None:
    """Where the request holds a NUL character ("the path", "the header X"…), or None."""
    if "\x00" in request.path:
        return "the path"
    if where := _nul_in_fields(request.GET, "the query parameter"):
        return where
    for name, value in request.META.items():
        if name.startswith("HTTP_") and "\x00" in value:
            return f"the header {name[5:].replace('_', '-').title()}"
    if any("\x00" in name or "\x00" in value for name, value in request.COOKIES.items()):
        return "a cookie"
    if request.content_type == "multipart/form-data":
        # Only the form's fields: an uploaded file may hold any bytes.
        return _nul_in_fields(request.POST, "the form field") if request.method == "POST" else None
    if request.content_type == "application/x-www-form-urlencoded":
        fields = QueryDict(request.body, encoding=request.encoding)
        return _nul_in_fields(fields, "the form field")
    if b"\x00" in request.body:
        return "the body"
    return None


def _nul_in_fields(fields: QueryDict, kind: str) -> str | None:
    for name, values in fields.lists():
        if "\x00" in name or any("\x00" in value for value in values):
            return f"{kind} {name.replace(chr(0), '')!r}"
    return None


def _bad_request(request: HttpRequest, detail: str) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return api_error(status=400, error_type="client_error", code="parse_error", detail=detail)
    return defaults.bad_request(request, SuspiciousOperation(detail))


def _too_large(request: HttpRequest) -> HttpResponse:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    detail = f"The request body is larger than {limit} bytes, the most this server accepts."
    if request.path.startswith(API_PREFIX):
        return api_error(
            status=413, error_type="client_error", code="request_too_large", detail=detail
        )
    # Rendered without a request context, as the other error pages.
    return HttpResponse(loader.get_template("413.html").render(), status=413)


# --- the schema ----------------------------------------------------------------------------------


class ErrorCode413Enum(models.TextChoices):
    REQUEST_TOO_LARGE = "request_too_large"


class Error413Serializer(serializers.Serializer):
    code = serializers.ChoiceField(choices=ErrorCode413Enum.choices)
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ErrorResponse413Serializer(serializers.Serializer):
    """The body is larger than the server accepts (DATA_UPLOAD_MAX_MEMORY_SIZE, 2.5 MB)."""

    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = Error413Serializer(many=True)
