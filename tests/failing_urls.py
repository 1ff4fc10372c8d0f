"""The real URLs plus two that fail, for the 500 handlers' tests."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from config.urls import handler403, handler404, handler500, urlpatterns

__all__ = ["handler403", "handler404", "handler500", "urlpatterns"]


@login_not_required
def boom(request):
    raise RuntimeError("a failure the tests asked for")


urlpatterns = [path("boom/", boom), path("api/boom/", boom), *urlpatterns]
