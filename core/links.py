"""Absolute links, for what leaves the site (e-mails, Stripe's return pages).

A link in an e-mail has no page to be relative to, so every one is built here: on SITE_URL
(required with DEBUG off), or, with DEBUG on and no SITE_URL, on the address of the request
being served, or outside any request on the development server's address.
"""

from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest

# What `make run` serves: the base of links made outside a request in development.
DEVELOPMENT_SITE_URL = "http://127.0.0.1:8000"

_current_request: ContextVar[HttpRequest | None] = ContextVar("current_request", default=None)


def site_url() -> str:
    """The site's address, without a trailing slash."""
    if settings.SITE_URL:
        return settings.SITE_URL.rstrip("/")
    request = _current_request.get()
    if request is not None:
        return request.build_absolute_uri("/").rstrip("/")
    return DEVELOPMENT_SITE_URL


def absolute_url(path: str) -> str:
    """The absolute address of a path of this site (`reverse(...)`'s result)."""
    return site_url() + "/" + path.lstrip("/")


class CurrentRequestMiddleware:
    """Remembers the request being served, so a link made while serving it (an e-mail a
    service sends) can take its address when SITE_URL is not set."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)
