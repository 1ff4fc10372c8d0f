"""The real URLs plus a few that fail, for the error handlers' tests."""

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.urls import path

from config.urls import handler403, handler404, handler500, urlpatterns

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]


@login_not_required
def boom(request):
    raise RuntimeError("a failure the tests asked for")


@login_not_required
def denied(request):
    raise PermissionDenied


urlpatterns = [
    path("boom/", boom),
    path("api/boom/", boom),
    path("denied/", denied),
    *urlpatterns,
]
