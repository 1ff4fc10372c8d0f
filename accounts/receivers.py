"""allauth's two-factor events, handed to the accounts services (connected in apps.ready)."""

from allauth.mfa.models import Authenticator
from allauth.mfa.signals import authenticator_added, authenticator_removed, authenticator_reset
from django.dispatch import receiver

from accounts import services, two_factor


@receiver(authenticator_removed)
@receiver(authenticator_reset)
def two_factor_changed(sender, request, user, **kwargs) -> None:
    """Two-factor removed, or recovery codes regenerated: other sessions end, tokens stop."""
    services.two_factor_changed(user=user, request=request)


@receiver(authenticator_added)
def two_factor_enrolled(sender, request, user, authenticator, **kwargs) -> None:
    """Activating TOTP takes a valid code from the new authenticator: this session has used a
    second factor, so a staff member enrolling is not asked for another code at once."""
    if authenticator.type == Authenticator.Type.TOTP:
        two_factor.record_enrolment(request, authenticator)
