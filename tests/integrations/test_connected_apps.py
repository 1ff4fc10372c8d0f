"""The Account page's "Connected apps": each app the user allowed, its scopes in words, its cap,
what it charged in the last 30 days and what is left; revoking one (after a confirmation) ends
its tokens at once."""

import pytest
from django.test import Client
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from credits import services as credits
from credits.actors import Actor
from integrations.models import Consent
from integrations.services.caps import charge_limit
from tests.credits.conftest import fund, key
from tests.factories import UserFactory
from tests.integrations.oauth_helpers import (
    allow,
    basic_auth,
    exchange,
    partner_app,
    pkce_pair,
    query_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def user_client(user):
    client = Client()
    client.force_login(user)
    return client


def connect(user_client, app, secret, *, cap: int, scope: str) -> dict:
    verifier, challenge = pkce_pair()
    answer = allow(user_client, app, challenge, cap=cap, scope=scope)
    code = query_of(answer["Location"])["code"]
    tokens = exchange(Client(), app, secret, code, verifier)
    assert tokens.status_code == 200, tokens.content
    return tokens.json()


def test_the_account_page_lists_each_connected_app_with_its_cap_use(user_client, user):
    app, secret = partner_app(proposed_cap=1_000)
    connect(user_client, app, secret, cap=400, scope="openid credits:read credits:spend")
    fund(user.wallet, 1_000)
    credits.spend(
        wallet=user.wallet,
        amount=150,
        description="A report",
        actor=Actor.for_app(
            app.pk, app.name, user_id=user.pk, charge_limit=charge_limit(app.pk, user.pk)
        ),
        idempotency_key=key(),
    )

    html = user_client.get("/accounts/profile/").content.decode()

    assert "Connected apps" in html
    assert "Partner Shop" in html
    assert "spend your credits" in html
    row = html[html.index("Partner Shop") :]
    assert row.index("400") < row.index("150") < row.index("250")  # cap, charged, left


def test_a_user_without_connected_apps_is_told_so(user_client):
    assert (
        "You have not connected any app." in user_client.get("/accounts/profile/").content.decode()
    )


def test_revoking_asks_to_confirm_then_ends_the_apps_tokens_at_once(user_client, user):
    app, secret = partner_app()
    tokens = connect(user_client, app, secret, cap=300, scope="openid credits:read")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    consent = Consent.objects.get(user=user, revoked_at__isnull=True)
    assert Client().get("/api/v1/wallet", **bearer).status_code == 200

    confirm = user_client.post("/accounts/apps/revoke/", {"consent": consent.pk})
    assert confirm.status_code == 200
    assert "Revoke Partner Shop?" in confirm.content.decode()
    assert Client().get("/api/v1/wallet", **bearer).status_code == 200  # nothing yet

    done = user_client.post("/accounts/apps/revoke/", {"consent": consent.pk, "confirmed": "yes"})

    assert done.status_code == 302
    assert done["Location"] == "/accounts/profile/"
    consent.refresh_from_db()
    assert consent.revoked_at is not None
    assert Client().get("/api/v1/wallet", **bearer).status_code == 401
    assert not get_access_token_model().objects.filter(user=user).exists()
    assert not get_refresh_token_model().objects.filter(user=user, revoked__isnull=True).exists()
    refreshed = Client().post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(app, secret),
    )
    assert refreshed.status_code == 400
    page = user_client.get("/accounts/profile/").content.decode()
    assert "can no longer act for you" in page
    assert "You have not connected any app." in page


def test_nobody_revokes_another_users_consent(user_client):
    app, secret = partner_app()
    other = Client()
    other_user = UserFactory()
    other.force_login(other_user)
    connect(other, app, secret, cap=300, scope="openid")
    theirs = Consent.objects.get(user=other_user)

    for data in (
        {"consent": theirs.pk},
        {"consent": theirs.pk, "confirmed": "yes"},
        {"consent": "x"},
    ):
        answer = user_client.post("/accounts/apps/revoke/", data)
        assert answer.status_code == 302

    theirs.refresh_from_db()
    assert theirs.revoked_at is None
