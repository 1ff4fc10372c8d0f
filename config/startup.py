"""Every way CreditDesk starts (manage.py, WSGI, ASGI) loads its settings the same way."""

import os
import sys


def load_settings() -> None:
    """Load the settings now, so a bad configuration ends the process with one readable line
    (the variable and what is wrong with it) instead of a traceback in a server's log."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.INSTALLED_APPS  # noqa: B018  (touching one setting loads them all)
    except ImproperlyConfigured as exc:
        sys.exit(f"CreditDesk cannot start: {exc}")
