from django.apps import AppConfig
from django.conf import settings
from django.db.models.signals import post_save


class CreditsConfig(AppConfig):
    name = "credits"
    verbose_name = "Credits ledger"

    def ready(self) -> None:
        post_save.connect(open_wallet_for_new_user, sender=settings.AUTH_USER_MODEL)


def open_wallet_for_new_user(sender, instance, created, raw=False, **kwargs) -> None:
    """Every user has a wallet from the moment they exist, however they were created."""
    if created and not raw:
        from credits.services import open_wallet

        open_wallet(user=instance)
