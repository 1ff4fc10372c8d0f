from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from accounts import services


class AccountAdapter(DefaultAccountAdapter):
    """allauth, with messages that tell people what to do next."""

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": (
            "Too many failed sign-in attempts for this account. Wait "
            f"{settings.ACCOUNT_LOGIN_LOCKOUT_MINUTES} minutes, or reset your password."
        ),
    }

    def set_password(self, user, password) -> None:
        """Every way allauth sets a password (change, reset, first set) ends the user's other
        sessions and revokes their API tokens; allauth then keeps the current session."""
        services.set_password(user=user, password=password)
