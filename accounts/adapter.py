import secrets

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation

from accounts import services
from core.links import absolute_url, site_url


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

    def send_mail(self, template_prefix: str, email: str, context_: dict) -> None:
        """Every allauth e-mail links to SITE_URL, like ours (core.links): allauth builds its
        links on the request's address, which with DEBUG off is only what the client sent as
        Host (or, staff sending a reset from the admin, the admin's)."""
        request = context.request
        origin = request.build_absolute_uri("/").rstrip("/") if request is not None else None
        rebased = {
            name: absolute_url(value.removeprefix(origin))
            if origin and isinstance(value, str) and value.startswith(origin + "/")
            else value
            for name, value in context_.items()
        }
        super().send_mail(template_prefix, email, {**rebased, "site_url": site_url()})

    def send_account_already_exists_mail(self, email: str) -> None:
        """A sign-up with a known address e-mails its owner, and takes as long as a real one:
        hashing a password is most of a sign-up's time, and its absence would tell a prober
        which addresses have accounts."""
        make_password(secrets.token_urlsafe(16))
        super().send_account_already_exists_mail(email)

    def get_client_ip(self, request) -> str:
        """The visitor's address for the rate limits; a request whose X-Forwarded-For holds
        fewer addresses than TRUSTED_PROXY_COUNT (it did not come through the proxies) is a
        400, not the 500 of allauth's configuration error."""
        try:
            return super().get_client_ip(request)
        except ImproperlyConfigured as error:
            raise SuspiciousOperation(
                f"X-Forwarded-For does not match the proxies: {error}"
            ) from error
