"""Every way CreditDesk starts (manage.py, WSGI, ASGI) loads its settings the same way."""

import os
import sys

# Commands that serve web requests, and so get the request timeouts, not the commands' ones.
SERVING_COMMANDS = frozenset({"runserver", "testserver"})

# What this process is, read by the settings (DATABASE_*_TIMEOUT): True for a web server (and
# the test suite, which stands in for one), False once manage.py runs any other command.
serves_requests = True


def load_settings(*, command: str | None = None) -> None:
    """Load the settings now, so a bad configuration ends the process with one readable line
    (the variable and what is wrong with it) instead of a traceback in a server's log.

    `command` is the manage.py command about to run (None for a web server): an operator's
    command gets the database timeouts meant for commands, which are longer than a request's.
    """
    global serves_requests
    serves_requests = command is None or command in SERVING_COMMANDS
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.INSTALLED_APPS  # noqa: B018  (touching one setting loads them all)
    except ImproperlyConfigured as exc:
        sys.exit(f"CreditDesk cannot start: {exc}")


def warn_if_cache_is_process_local() -> None:
    """For servers (WSGI, ASGI), which run no system checks: with DEBUG off, a process-local
    cache means each worker keeps its own rate-limit counters. One line on stderr, where the
    server's log collects it."""
    from django.conf import settings

    from core.checks import (
        PROCESS_LOCAL_CACHE_HINT,
        PROCESS_LOCAL_CACHE_WARNING,
        cache_is_process_local,
    )

    if not settings.DEBUG and cache_is_process_local():
        print(
            f"CreditDesk warning: {PROCESS_LOCAL_CACHE_WARNING} {PROCESS_LOCAL_CACHE_HINT}.",
            file=sys.stderr,
        )
