"""Site-wide views: the start page, the health probe and the error pages."""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.module_loading import import_string
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_safe
from drf_spectacular.utils import extend_schema, inline_serializer
from drf_spectacular.views import SpectacularAPIView
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from core.api.tags import Tag

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"


@login_not_required
def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("credits:dashboard")
    return render(request, "home.html")


@login_not_required
@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """The site's icon, for browsers that ask /favicon.ico whatever the page says."""
    return redirect(static("favicon.svg"), permanent=True)


@login_not_required
@csrf_exempt  # a probe, not a form: other methods get a plain 405, not a CSRF page
@never_cache
@require_safe  # GET, and HEAD: what some load balancers probe with
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness and readiness for load balancers: 200 when every part answers, else 503.

    Its details come from HEALTH_DETAILS (events: how long the oldest event, and each app's
    oldest overdue item, has waited for the worker). One of them may say the site is
    "degraded", still 200: this process serves, the worker behind it is stuck or not running,
    and taking the web server out of the load balancer would not help.
    """
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("health check: the database did not answer")
        return JsonResponse({"status": "unavailable", "database": "unavailable"}, status=503)
    details, degraded = {}, False
    for path in settings.HEALTH_DETAILS:
        try:
            found, behind = import_string(path)()
        except DatabaseError:  # the database answers, this part of it does not (unmigrated?)
            logger.exception("health check: %s failed", path)
            found, behind = {path: "unavailable"}, True
        details.update(found)
        degraded = degraded or behind
    return JsonResponse(
        {"status": "degraded" if degraded else "ok", "database": "ok", "details": details}
    )


class ApiRootView(APIView):
    """The API's front door; the endpoint list itself is the OpenAPI schema, never a copy."""

    permission_classes = [AllowAny]

    @extend_schema(
        summary="API root",
        description="Where to find the schema (the list of every endpoint) and its documentation.",
        responses=inline_serializer(
            "ApiRoot", {"schema": serializers.URLField(), "docs": serializers.URLField()}
        ),
        tags=[Tag.ACCOUNT],
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "schema": reverse("api-schema", request=request),
                "docs": reverse("api-docs", request=request),
            }
        )


class FormatParameterNegotiation(DefaultContentNegotiation):
    """`?format=json` or `?format=yaml` picks the renderer. Only the schema view takes it: the
    rest of the API is negotiated by the Accept header alone (URL_FORMAT_OVERRIDE is None)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        chosen = format_suffix or request.query_params.get("format")
        return super().select_renderer(request, renderers, chosen)


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema: YAML by default, JSON with `Accept: application/json` or
    `?format=json` (what tools given a URL, such as schemathesis, can ask for)."""

    content_negotiation_class = FormatParameterNegotiation


def api_error(*, status: int, error_type: str, code: str, detail: str) -> JsonResponse:
    """An error answered outside DRF's views, in the same shape drf-standardized-errors uses."""
    body = {"type": error_type, "errors": [{"code": code, "detail": detail, "attr": None}]}
    return JsonResponse(body, status=status)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


@login_not_required
@csrf_exempt
def api_not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any address under /api/ that no endpoint answers, in the API's error shape, DEBUG or not."""
    return api_error(
        status=404,
        error_type="client_error",
        code="not_found",
        detail="There is no API endpoint at this address; the list is the schema at /api/schema/.",
    )


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return api_error(
            status=403,
            error_type="client_error",
            code="permission_denied",
            detail="You do not have permission to perform this action.",
        )
    return defaults.permission_denied(request, exception)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A form or session POST without its CSRF token: the site's page (Django's own has an
    inline style, which the Content-Security-Policy refuses), or the API's error shape."""
    if request.path.startswith(API_PREFIX):
        return api_error(
            status=403,
            error_type="client_error",
            code="permission_denied",
            detail=f"CSRF check failed: {reason}",
        )
    return render(request, "403_csrf.html", status=403)


def server_error(request: HttpRequest) -> HttpResponse:
    from core.faults import busy_response_for_current_error

    busy = busy_response_for_current_error(request)
    if busy is not None:
        return busy
    if request.path.startswith(API_PREFIX):
        return api_error(
            status=500, error_type="server_error", code="error", detail="A server error occurred."
        )
    return defaults.server_error(request)
