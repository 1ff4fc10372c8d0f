from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Users"  # allauth's e-mail addresses are "Accounts"

    def ready(self) -> None:
        from accounts import checks  # noqa: F401  (registers the system checks)
