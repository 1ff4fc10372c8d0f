"""WSGI entry point: `gunicorn config.wsgi`."""

from django.core.wsgi import get_wsgi_application

from config.startup import load_settings, warn_if_cache_is_process_local

load_settings()
warn_if_cache_is_process_local()
application = get_wsgi_application()
