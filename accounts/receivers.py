"""Sign-ins and allauth's two-factor events, handed to accounts (connected in apps.ready)."""

from allauth.mfa.signals import authenticator_removed, authenticator_reset
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from accounts import services, sessions


@receiver(authenticator_removed)
@receiver(authenticator_reset)
def two_factor_changed(sender, request, user, **kwargs) -> None:
    """Two-factor removed, or recovery codes regenerated: other sessions end, tokens stop."""
    services.two_factor_changed(user=user, request=request)


@receiver(user_logged_in)
def session_started(sender, request, user, **kwargs) -> None:
    """A sign-in starts the session's lifetime and idle clocks."""
    if request is not None and hasattr(request, "session"):
        sessions.start(request)
