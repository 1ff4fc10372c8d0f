"""No response Django makes may be kept by a browser or a proxy cache.

Pages and API responses show balances, transactions, e-mail addresses and CSRF tokens; a shared
or back-button cache must never hold them. Static files are not affected: whitenoise answers them
before this middleware runs, with its own long-lived, immutable caching for hashed names.
"""

from django.utils.cache import add_never_cache_headers


class NoStoreMiddleware:
    """`Cache-Control: no-store` (with Django's never_cache companions) on every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response
