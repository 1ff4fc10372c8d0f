from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings


class AccountAdapter(DefaultAccountAdapter):
    """allauth, with messages that tell people what to do next."""

    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": (
            "Too many failed sign-in attempts for this account. Wait "
            f"{settings.ACCOUNT_LOGIN_LOCKOUT_MINUTES} minutes, or reset your password."
        ),
    }
