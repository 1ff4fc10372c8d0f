"""Answers made outside DRF's views (middleware, error handlers) in the API's one error shape.

Imports nothing of ours, so middleware and the error handler can both use it.
"""

from django.http import JsonResponse

API_PREFIX = "/api/"


def api_error(*, status: int, error_type: str, code: str, detail: str) -> JsonResponse:
    """An error answered outside DRF's views, in the same shape drf-standardized-errors uses."""
    body = {"type": error_type, "errors": [{"code": code, "detail": detail, "attr": None}]}
    return JsonResponse(body, status=status)
