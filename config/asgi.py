"""ASGI entry point, for servers that speak ASGI (uvicorn, daphne)."""

from django.core.asgi import get_asgi_application

from config.startup import load_settings, warn_if_cache_is_process_local

load_settings()
warn_if_cache_is_process_local()
application = get_asgi_application()
