from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares, importing none of them: errors, the API's shared layer, e-mail,
    request hygiene (faults, malformed requests, caching), pagination."""

    name = "core"
    verbose_name = "CreditDesk core"

    def ready(self) -> None:
        from core import checks  # noqa: F401  (registers the system checks)
