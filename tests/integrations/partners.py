"""Partner apps as tests need them: an approved app, its API keys, users' consents and OAuth
tokens, and a client that calls the API with a partner credential. Built through the
integrations services, as staff and the consent page build them; an OAuth access token is the
row django-oauth-toolkit's token endpoint writes (its flow is tested on its own)."""

import json
import secrets
import uuid
from datetime import timedelta
from functools import cache

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from integrations.models import PartnerApp
from integrations.scopes import SCOPES
from integrations.services import apps, consents, keys
from tests.factories import StaffFactory, UserFactory

EVERY_SCOPE = " ".join(SCOPES)


@cache
def signing_key() -> str:
    """A development RS256 key (PEM), made once per test run."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture
def oidc_key(settings):
    """An RS256 signing key, which an app's registration needs (OIDC_RSA_PRIVATE_KEY)."""
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": signing_key()}


def approved_app(name: str = "Translator", *, allowed_scopes: str = EVERY_SCOPE, **fields):
    """An app staff approved, allowed `allowed_scopes`; `fields` set the rest (rate limit…)."""
    slug = uuid.uuid4().hex[:8]
    app, _ = apps.register(
        owner=UserFactory(),
        name=name,
        homepage=f"https://{slug}.example.com",
        redirect_uris=f"https://{slug}.example.com/callback",
        allowed_scopes=allowed_scopes,
        proposed_cap=5_000,
    )
    app = apps.change_status(app=app, to=PartnerApp.Status.APPROVED, reason="Reviewed", by=None)
    for name, value in fields.items():
        setattr(app, name, value)
    if fields:
        app.save(update_fields=list(fields))
    return app


def set_status(app: PartnerApp, to: str) -> PartnerApp:
    return apps.change_status(app=app, to=to, reason="Tests", by=StaffFactory())


def api_key(app: PartnerApp, scopes: str = EVERY_SCOPE, **options) -> str:
    """A new key of `app` (the whole key, as it is shown once)."""
    return keys.create(app=app, name="server", scope_names=scopes, by=None, **options).secret


def consenting_user(app: PartnerApp, *, scopes: str = EVERY_SCOPE, cap: int = 1_000, user=None):
    """A user who consented to `app`: returns (user, their OAuth access token for it)."""
    user = user or UserFactory()
    consents.give(app=app, user=user, scope_names=scopes, cap=cap)
    return user, oauth_token(app, user, scopes)


def oauth_token(app: PartnerApp, user, scopes: str) -> str:
    raw = secrets.token_urlsafe(30)
    get_access_token_model().objects.create(
        user=user,
        application=app,
        token=raw,
        scope=scopes,
        expires=timezone.now() + timedelta(hours=1),
    )
    return raw


class Partner:
    """Calls /api/v1/ with a partner credential (`Authorization: Bearer …`)."""

    def __init__(self, credential: str):
        self.client = Client()
        self.headers = {"HTTP_AUTHORIZATION": f"Bearer {credential}"}

    def get(self, path, **params):
        return self.client.get(f"/api/v1/{path}", params, **self.headers)

    def post(self, path, body=None, *, idempotency_key: str | None = None):
        return self.client.post(
            f"/api/v1/{path}",
            json.dumps(body or {}),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=idempotency_key or uuid.uuid4().hex,
            **self.headers,
        )
