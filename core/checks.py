"""Start-up checks of what every process shares: the cache that holds rate-limit counters."""

from django.conf import settings
from django.core.checks import Warning, register

# Caches that keep their entries inside one process (or keep nothing at all).
PROCESS_LOCAL_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


def cache_is_process_local() -> bool:
    return settings.CACHES["default"]["BACKEND"] in PROCESS_LOCAL_CACHES


PROCESS_LOCAL_CACHE_WARNING = (
    "The cache (CACHE_URL) is process-local, so each server process counts sign-in failures "
    "and look-ups on its own: with 2 workers an account locks after twice the attempts."
)
PROCESS_LOCAL_CACHE_HINT = (
    "Leave CACHE_URL empty for the database cache (dbcache://creditdesk_cache, created by "
    "migrate) or set a shared one, e.g. redis://127.0.0.1:6379/0"
)


@register()
def check_cache_is_shared(app_configs, **kwargs):
    """Rate limits hold across processes only on a shared cache; DEBUG on is one process."""
    if settings.DEBUG or not cache_is_process_local():
        return []
    return [Warning(PROCESS_LOCAL_CACHE_WARNING, hint=PROCESS_LOCAL_CACHE_HINT, id="core.W001")]
