from django.conf import settings
from django.core.checks import Warning, register

CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"


@register(deploy=True)
def check_email_is_delivered(app_configs, **kwargs):
    """Sign-up verification and password resets are e-mails: they must reach people."""
    if settings.EMAIL_BACKEND == CONSOLE_BACKEND:
        return [
            Warning(
                "E-mail is written to the console, so verification and password-reset "
                "messages never reach anyone.",
                hint="Set EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.com:587",
                id="accounts.W001",
            )
        ]
    return []


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
    return [Warning(PROCESS_LOCAL_CACHE_WARNING, hint=PROCESS_LOCAL_CACHE_HINT, id="accounts.W002")]
