"""The one way pages paginate a list."""

from django.core.paginator import Page, Paginator
from django.http import HttpRequest


def paginate(request: HttpRequest, items, *, per_page: int = 20) -> Page:
    """The page the request asks for (?page=N); a bad or out-of-range number gives the nearest."""
    return Paginator(items, per_page).get_page(request.GET.get("page"))
