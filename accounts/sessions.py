"""How long a signed-in session lasts: an absolute lifetime from sign-in and an idle timeout,
both shorter for staff (settings SESSION_* and STAFF_SESSION_*).

The session keeps when it signed in and when it was last seen; the last-seen mark is written at
most once a minute, so a busy session is not saved on every request.
"""

import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest

STARTED_KEY = "accounts_session_started_at"
SEEN_KEY = "accounts_session_seen_at"
SEEN_RESOLUTION_SECONDS = 60


@dataclass(frozen=True)
class SessionLimits:
    lifetime_minutes: int
    idle_minutes: int


def limits_for(user) -> SessionLimits:
    if user.is_staff:
        return SessionLimits(
            settings.STAFF_SESSION_LIFETIME_HOURS * 60, settings.STAFF_SESSION_IDLE_MINUTES
        )
    return SessionLimits(settings.SESSION_LIFETIME_HOURS * 60, settings.SESSION_IDLE_MINUTES)


def start(request: HttpRequest) -> None:
    """A sign-in starts the clock (Django's user_logged_in)."""
    now = time.time()
    request.session[STARTED_KEY] = now
    request.session[SEEN_KEY] = now


def end_if_over(request: HttpRequest) -> str | None:
    """Sign the request's session out if it is past its lifetime or has idled too long; returns
    why, in words, or None when it goes on (its last-seen mark renewed once a minute)."""
    user = request.user
    if not user.is_authenticated:
        return None
    session = request.session
    now = time.time()
    started = session.get(STARTED_KEY)
    if not isinstance(started, int | float):
        # Signed in before these limits existed: the clock starts now.
        start(request)
        return None
    seen = session.get(SEEN_KEY, started)
    limits = limits_for(user)
    reason = None
    if now - started >= limits.lifetime_minutes * 60:
        reason = f"{_duration(limits.lifetime_minutes)} after signing in"
    elif now - seen >= limits.idle_minutes * 60 + SEEN_RESOLUTION_SECONDS:
        # The mark is renewed at most once a minute, so it may be up to that much behind the
        # last request: an active session is never ended early, an idle one up to a minute late.
        reason = f"after {_duration(limits.idle_minutes)} without activity"
    if reason is not None:
        logout(request)
        return reason
    if now - seen >= SEEN_RESOLUTION_SECONDS:
        session[SEEN_KEY] = now
    return None


def _duration(minutes: int) -> str:
    """30 minutes, 12 hours, 14 days: the largest whole unit."""
    if minutes % (24 * 60) == 0:
        count, unit = minutes // (24 * 60), "day"
    elif minutes % 60 == 0:
        count, unit = minutes // 60, "hour"
    else:
        count, unit = minutes, "minute"
    return f"{count} {unit}{'' if count == 1 else 's'}"
