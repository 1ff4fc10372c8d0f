"""API rate limits: per signed-in caller, and per address for anonymous calls.

Counted in the "throttle" cache (settings.CACHES): the shared cache when CACHE_URL is Redis or
another fast one; with the database cache it is each process's memory instead, because the
database cache counts its whole table on every write (several statements, one a table scan,
on every API call). Per process, N workers let a caller through at most N times its rate: a
bound on abuse, where the sign-in limits (which stay on the shared cache) are a guarantee.
Rates come from the settings, read on each request: API_THROTTLE_USER_RATE and
API_THROTTLE_ANON_RATE. Past its rate a caller is answered 429 in the API's error shape, with
Retry-After saying when to call again.
"""

from django.conf import settings
from django.core.cache import caches
from rest_framework import throttling


class CacheChoice:
    """The throttle cache, looked up when first used (tests change CACHES)."""

    @property
    def cache(self):
        return caches["throttle"]


class UserThrottle(CacheChoice, throttling.UserRateThrottle):
    """Each signed-in caller (by user id, whatever credential of their own it uses).

    Not a partner app's calls (a credential with `partner_scopes`): they count against the
    app's own limit, per app and per key (integrations.services.rate_limits), which the app is
    told in its RateLimit headers. Counting them here as well would answer 429 to an app whose
    headers say it has calls left, and let one app's calls for a user use up the user's own.
    """

    def allow_request(self, request, view) -> bool:
        if getattr(request.auth, "partner_scopes", None) is not None:
            return True
        return super().allow_request(request, view)

    def get_rate(self) -> str:
        return settings.API_THROTTLE_USER_RATE


class AnonymousThrottle(CacheChoice, throttling.AnonRateThrottle):
    """Anonymous calls, by client address (REST_FRAMEWORK's NUM_PROXIES says which one)."""

    def get_rate(self) -> str:
        return settings.API_THROTTLE_ANON_RATE
