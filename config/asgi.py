"""ASGI entry point, for servers that speak ASGI (uvicorn, daphne)."""

from django.core.asgi import get_asgi_application

from config.startup import load_settings

load_settings()
application = get_asgi_application()
