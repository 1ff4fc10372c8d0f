from django.apps import AppConfig


class CoreConfig(AppConfig):
    """What every app shares, importing none of them: errors, the API's shared layer, e-mail,
    request hygiene (faults, malformed requests, caching), pagination."""

    name = "core"
    verbose_name = "CreditDesk core"
