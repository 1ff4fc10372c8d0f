"""Attacks on the OAuth flow: a consent form posted with a tampered cap, scope or redirect URI,
a code replayed, and a user deactivated after consenting. Each test either proves the attack
fails or, marked DEFECT, shows that it works."""

import pytest
from django.test import Client

from integrations.models import Consent
from tests.factories import UserFactory
from tests.integrations.oauth_helpers import (
    REDIRECT_URI,
    authorize_query,
    basic_auth,
    exchange,
    form_fields,
    partner_app,
    pkce_pair,
    query_of,
)

pytestmark = pytest.mark.django_db

CHARGING = "openid credits:spend"


def _signed_in():
    user = UserFactory()
    client = Client()
    client.force_login(user)
    return user, client


def _consent_form(client, app, challenge, **overrides) -> dict:
    page = client.get("/o/authorize/", authorize_query(app, challenge, scope=CHARGING, **overrides))
    assert page.status_code == 200, page.content.decode()[:1000]
    fields = form_fields(page.content.decode())
    fields.pop("csrfmiddlewaretoken", None)
    return fields


@pytest.mark.parametrize("cap", ["1001", "10" * 200, "-5", "0", "1e3", "²", " ", "1.5"])
def test_a_tampered_cap_gives_no_consent_above_the_apps_proposal(cap):
    app, _secret = partner_app(proposed_cap=1_000)
    user, client = _signed_in()
    fields = _consent_form(client, app, pkce_pair()[1])

    answer = client.post("/o/authorize/", {**fields, "cap": cap, "allow": "true"})

    assert answer.status_code in (200, 400), answer.status_code
    assert not Consent.objects.filter(user=user, cap__gt=1_000).exists()
    assert not Consent.objects.filter(user=user, cap__lt=1).exists()


def test_a_scope_the_app_is_not_allowed_cannot_be_slipped_into_the_form():
    app, _secret = partner_app(allowed_scopes="openid credits:spend")
    user, client = _signed_in()
    fields = _consent_form(client, app, pkce_pair()[1])

    answer = client.post(
        "/o/authorize/",
        {**fields, "scope": "openid credits:spend credits:refund", "allow": "true"},
    )

    assert answer.status_code in (200, 400)
    assert "code=" not in answer.get("Location", "")
    assert not Consent.objects.filter(user=user, scopes__contains="credits:refund").exists()


def test_a_tampered_redirect_uri_in_the_form_sends_nothing_elsewhere():
    app, _secret = partner_app()
    user, client = _signed_in()
    fields = _consent_form(client, app, pkce_pair()[1])

    allowed = client.post(
        "/o/authorize/",
        {**fields, "redirect_uri": "https://evil.example.com/callback", "allow": "true"},
    )
    denied = client.post(
        "/o/authorize/", {**fields, "redirect_uri": "https://partner.example.com/callback/x"}
    )

    for answer in (allowed, denied):
        assert answer.status_code == 400, answer.status_code
        assert "Location" not in answer
    assert not Consent.objects.filter(user=user).exists()


def test_a_code_is_exchanged_once_and_not_by_another_app():
    app, secret = partner_app()
    other, other_secret = partner_app(name="Other Shop")
    _user, client = _signed_in()
    verifier, challenge = pkce_pair()
    fields = _consent_form(client, app, challenge)
    answer = client.post("/o/authorize/", {**fields, "cap": "500", "allow": "true"})
    code = query_of(answer["Location"])["code"]

    stolen = exchange(Client(), other, other_secret, code, verifier)
    first = exchange(Client(), app, secret, code, verifier)
    replay = exchange(Client(), app, secret, code, verifier)

    assert stolen.status_code in (400, 401)
    assert first.status_code == 200
    assert replay.status_code == 400


def test_a_deactivated_user_gets_no_new_tokens_from_a_refresh():
    """DEFECT: after staff deactivate a user (is_active off), the partner app still refreshes
    its tokens for them (django-oauth-toolkit's refresh grant never looks at is_active), and
    the new access token works on the API: the app goes on acting for a user who may no longer
    sign in. Reproduce: consent, exchange the code, set the user inactive, POST /o/token/ with
    grant_type=refresh_token."""
    app, secret = partner_app()
    user, client = _signed_in()
    verifier, challenge = pkce_pair()
    fields = _consent_form(client, app, challenge)
    answer = client.post("/o/authorize/", {**fields, "cap": "500", "allow": "true"})
    tokens = exchange(Client(), app, secret, query_of(answer["Location"])["code"], verifier).json()
    user.is_active = False
    user.save(update_fields=["is_active"])

    refreshed = Client().post(
        "/o/token/",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(app, secret),
    )

    assert refreshed.status_code in (400, 401), refreshed.content
    assert REDIRECT_URI  # the flow above used the registered redirect URI
