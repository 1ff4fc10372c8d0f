"""A partner app acting for a user, as the API sees it: an approved app, the user's consent with
a spending cap, and an OAuth access token sent as `Authorization: Bearer` (the token is made
directly: the OAuth flow itself has its own tests)."""

import secrets
import uuid
from datetime import timedelta

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone
from oauth2_provider.models import AccessToken

from integrations import scopes
from integrations.models import PartnerApp
from integrations.services import apps, consents
from tests.clients import Api
from tests.factories import StaffFactory, UserFactory

EVERY_SCOPE = " ".join(scopes.SCOPES)


def _signing_key() -> str:
    """An RSA key for ID tokens, if the settings have none (apps sign theirs with RS256)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


_KEY: list[str] = []


def approved_app(name: str = "Translator", *, allowed: str = EVERY_SCOPE, cap: int = 10_000):
    """An approved partner app that may ask for `allowed`, proposing a cap of `cap`."""
    provider = settings.OAUTH2_PROVIDER
    if not provider.get("OIDC_RSA_PRIVATE_KEY") and not _KEY:
        _KEY.append(_signing_key())
    key = provider.get("OIDC_RSA_PRIVATE_KEY") or _KEY[0]
    with override_settings(OAUTH2_PROVIDER={**provider, "OIDC_RSA_PRIVATE_KEY": key}):
        app, _secret = apps.register(
            owner=UserFactory(),
            name=name,
            homepage=f"https://{name.lower()}.example",
            redirect_uris=f"https://{name.lower()}.example/callback",
            allowed_scopes=allowed,
            proposed_cap=cap,
        )
    return apps.change_status(
        app=app, to=PartnerApp.Status.APPROVED, reason="Checked", by=StaffFactory()
    )


def access_token(app, user, scope: str) -> str:
    """A live access token of `app` for `user` with `scope` (space-separated)."""
    token = secrets.token_urlsafe(24)
    AccessToken.objects.create(
        user=user,
        application=app,
        token=token,
        scope=scope,
        expires=timezone.now() + timedelta(hours=1),
    )
    return token


class PartnerApi(Api):
    """Calls /api/v1/ as `app` acting for `user` with a token of `scope`; the user consented to
    that scope with `cap` unless told `consent=False`."""

    def __init__(self, app, user, scope: str, *, cap: int | None = None, consent: bool = True):
        self.app, self.user = app, user
        if consent:
            self.consent = consents.give(
                app=app, user=user, scope_names=scope, cap=cap or app.proposed_cap
            )
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {access_token(app, user, scope)}"}


def new_key() -> str:
    return uuid.uuid4().hex


def code(response) -> str:
    """The error code of an API answer in the one error shape."""
    return response.json()["errors"][0]["code"]
