"""API authentication with a user's own tokens (`Authorization: Token <token>`)."""

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from accounts import services
from accounts.errors import ApiTokenRefused


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's header parsing (and its OpenAPI description), with hashed, expiring, revocable
    tokens (accounts.ApiToken) behind it.

    `request.auth` is the ApiToken: a permission can tell a token from a session by it
    (a session leaves `request.auth` None).
    """

    def authenticate_credentials(self, key):
        try:
            token = services.authenticate_api_token(secret=key)
        except ApiTokenRefused as refusal:
            raise exceptions.AuthenticationFailed(refusal.message) from refusal
        return (token.user, token)
