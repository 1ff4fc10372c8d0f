"""Requests per minute, per app and per key, counted in the throttle cache (settings.CACHES).

A fixed window of one minute: each bucket counts its calls in the current minute under one
cache key, which expires after the minute. A bucket is an app's calls for its users (OAuth
tokens) or one API key's calls: each may make the app's `rate_limit_per_minute` (or
INTEGRATIONS_DEFAULT_RATE_PER_MINUTE) calls a minute, so a key's runaway batch job never
locks the app's users out, nor a rush of users its server jobs. A call past the limit is still
counted (a caller that keeps knocking does not get back in sooner).

The cache is the shared one (CACHE_URL, e.g. Redis) when it is a fast one; with the database
cache, each process's memory (core.api.throttling says why), so N processes let a bucket
through at most N times its limit.
"""

import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches

WINDOW_SECONDS = 60


@dataclass(frozen=True)
class Window:
    limit: int
    used: int  # calls in this window, this one included
    reset: int  # seconds until the window ends

    @property
    def allowed(self) -> bool:
        return self.used <= self.limit

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


def limit_for(app) -> int:
    return app.rate_limit_per_minute or settings.INTEGRATIONS_DEFAULT_RATE_PER_MINUTE


def take(bucket: str, limit: int) -> Window:
    """Count one call in `bucket` and say whether it is within `limit` this minute."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    name = f"partner-rate:{bucket}:{window}"
    cache = caches["throttle"]
    try:
        used = cache.incr(name)
    except ValueError:  # the window's first call (or its key expired meanwhile)
        used = 1 if cache.add(name, 1, timeout=2 * WINDOW_SECONDS) else cache.incr(name)
    reset = max(1, math.ceil((window + 1) * WINDOW_SECONDS - now))
    return Window(limit=limit, used=used, reset=reset)
