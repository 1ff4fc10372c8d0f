"""API rate limits: per signed-in caller, and per address for anonymous calls.

Counted in the cache (CACHE_URL: one shared cache, such as Redis, when several processes serve),
with rates from the settings, read on each request: API_THROTTLE_USER_RATE and
API_THROTTLE_ANON_RATE. Past its rate a caller is answered 429 in the API's error shape, with
Retry-After saying when to call again.
"""

from django.conf import settings
from rest_framework import throttling


class UserThrottle(throttling.UserRateThrottle):
    """Each signed-in caller (by user id, whatever credential it uses)."""

    def get_rate(self) -> str:
        return settings.API_THROTTLE_USER_RATE


class AnonymousThrottle(throttling.AnonRateThrottle):
    """Anonymous calls, by client address (REST_FRAMEWORK's NUM_PROXIES says which one)."""

    def get_rate(self) -> str:
        return settings.API_THROTTLE_ANON_RATE
