from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Users"  # allauth's e-mail addresses are "Accounts"

    def ready(self) -> None:
        from accounts import checks, receivers  # noqa: F401  (registers checks and receivers)
