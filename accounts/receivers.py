"""allauth's two-factor events, handed to the accounts services (connected in apps.ready)."""

from allauth.mfa.signals import authenticator_removed, authenticator_reset
from django.dispatch import receiver

from accounts import services


@receiver(authenticator_removed)
@receiver(authenticator_reset)
def two_factor_changed(sender, request, user, **kwargs) -> None:
    """Two-factor removed, or recovery codes regenerated: other sessions end, tokens stop."""
    services.two_factor_changed(user=user, request=request)
