"""The consent page: the app, the scopes in words, the spending cap the user may lower; a consent
that covers what is asked skips the page, a wider one asks again; bad caps change nothing."""

import pytest
from django.test import Client

from integrations.models import Consent
from tests.factories import UserFactory
from tests.integrations.oauth_helpers import (
    REDIRECT_URI,
    allow,
    authorize_query,
    form_fields,
    partner_app,
    pkce_pair,
    query_of,
)

pytestmark = pytest.mark.django_db

CHARGING = "openid credits:read credits:spend"


@pytest.fixture
def user():
    return UserFactory()


@pytest.fixture
def user_client(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_page_shows_the_app_its_owner_and_each_scope_in_words(user_client):
    app, _ = partner_app(proposed_cap=800)
    _, challenge = pkce_pair()

    page = user_client.get("/o/authorize/", authorize_query(app, challenge, scope=CHARGING))
    html = page.content.decode()

    assert page.status_code == 200
    assert "Let Partner Shop use your CreditDesk account?" in html
    assert "Dana Developer" in html
    assert "https://partner.example.com/" in html
    assert "spend your credits" in html
    assert "see your balance, your credit blocks and your history" in html
    assert form_fields(html)["cap"] == "800"
    assert 'max="800"' in html


def test_without_a_charging_scope_there_is_no_cap_to_set(user_client, user):
    app, _ = partner_app(proposed_cap=800)
    _, challenge = pkce_pair()

    page = user_client.get("/o/authorize/", authorize_query(app, challenge))
    answer = allow(user_client, app, challenge)

    assert "cap" not in form_fields(page.content.decode())
    assert answer.status_code == 302
    assert Consent.objects.get(user=user, app=app).cap == 800


def test_a_lowered_cap_is_stored_with_the_consent(user_client, user):
    app, _ = partner_app(proposed_cap=800)
    _, challenge = pkce_pair()

    answer = allow(user_client, app, challenge, cap=250, scope=CHARGING)

    assert answer.status_code == 302
    assert "code" in query_of(answer["Location"])
    consent = Consent.objects.get(user=user, app=app, revoked_at__isnull=True)
    assert consent.cap == 250
    assert consent.scopes == "credits:read credits:spend openid"


@pytest.mark.parametrize(
    ("cap", "message"),
    [
        ("801", "The cap must be from 1 to 800 credits"),
        ("0", "The cap must be from 1 to 800 credits"),
        ("-5", "Enter a whole number of credits"),
        ("lots", "Enter a whole number of credits"),
        ("", "Enter a whole number of credits"),
    ],
)
def test_a_bad_cap_is_shown_on_the_page_and_changes_nothing(user_client, user, cap, message):
    app, _ = partner_app(proposed_cap=800)
    _, challenge = pkce_pair()

    answer = allow(user_client, app, challenge, cap=cap, scope=CHARGING)

    assert answer.status_code == 200
    assert message in answer.content.decode()
    assert "Partner Shop" in answer.content.decode()  # still the consent page
    assert not Consent.objects.filter(user=user).exists()
    assert not app.grant_set.exists()


def test_deny_sends_access_denied_back_and_gives_nothing(user_client, user):
    app, _ = partner_app()
    _, challenge = pkce_pair()
    page = user_client.get("/o/authorize/", authorize_query(app, challenge, scope=CHARGING))
    fields = form_fields(page.content.decode())
    fields["cap"] = "not a number"  # a Deny agrees to nothing, so nothing is checked

    answer = user_client.post("/o/authorize/", fields)

    assert answer.status_code == 302
    assert answer["Location"].startswith(REDIRECT_URI)
    assert query_of(answer["Location"])["error"] == "access_denied"
    assert query_of(answer["Location"])["state"] == "state-123"
    assert not Consent.objects.filter(user=user).exists()


def test_a_second_authorization_with_the_same_scopes_skips_the_page(user_client, user):
    app, _ = partner_app()
    _, challenge = pkce_pair()
    allow(user_client, app, challenge, cap=300, scope=CHARGING)

    again = user_client.get("/o/authorize/", authorize_query(app, pkce_pair()[1], scope=CHARGING))
    fewer = user_client.get("/o/authorize/", authorize_query(app, pkce_pair()[1], scope="openid"))

    for answer in (again, fewer):
        assert answer.status_code == 302
        assert "code" in query_of(answer["Location"])
    assert Consent.objects.filter(user=user).count() == 1


def test_wider_scopes_or_prompt_consent_ask_again(user_client, user):
    app, _ = partner_app()
    _, challenge = pkce_pair()
    allow(user_client, app, challenge, scope="openid credits:read")

    wider = user_client.get("/o/authorize/", authorize_query(app, challenge, scope=CHARGING))
    prompted = user_client.get(
        "/o/authorize/", authorize_query(app, challenge, scope="openid", prompt="consent")
    )
    silent = user_client.get(
        "/o/authorize/", authorize_query(app, challenge, scope=CHARGING, prompt="none")
    )

    assert wider.status_code == 200
    assert "spend your credits" in wider.content.decode()
    assert prompted.status_code == 200
    assert query_of(silent["Location"])["error"] == "consent_required"


def test_allowing_wider_scopes_replaces_the_consent(user_client, user):
    app, _ = partner_app(proposed_cap=800)
    _, challenge = pkce_pair()
    allow(user_client, app, challenge, scope="openid")

    allow(user_client, app, challenge, cap=100, scope=CHARGING)

    live = Consent.objects.get(user=user, revoked_at__isnull=True)
    assert (live.scopes, live.cap) == ("credits:read credits:spend openid", 100)
    assert Consent.objects.filter(user=user, revoked_at__isnull=False).count() == 1


def test_a_double_posted_allow_gives_one_consent(user_client, user):
    app, _ = partner_app()
    _, challenge = pkce_pair()
    page = user_client.get("/o/authorize/", authorize_query(app, challenge, scope=CHARGING))
    fields = {**form_fields(page.content.decode()), "cap": "200", "allow": "true"}

    first = user_client.post("/o/authorize/", fields)
    second = user_client.post("/o/authorize/", fields)

    assert first.status_code == second.status_code == 302
    assert Consent.objects.filter(user=user).count() == 1
    assert Consent.objects.get(user=user).cap == 200


def test_a_visitor_is_sent_to_sign_in_first():
    app, _ = partner_app()
    _, challenge = pkce_pair()

    answer = Client().get("/o/authorize/", authorize_query(app, challenge))

    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/?next=/o/authorize/")


def test_the_apps_logo_is_served_by_its_own_view(user_client):
    from django.core.files.base import ContentFile

    app, _ = partner_app()
    app.logo.save("shop.png", ContentFile(b"\x89PNG\r\n\x1a\nlogo"))
    _, challenge = pkce_pair()

    page = user_client.get("/o/authorize/", authorize_query(app, challenge))
    logo = user_client.get(f"/o/apps/{app.client_id}/logo")

    assert f"/o/apps/{app.client_id}/logo" in page.content.decode()
    assert logo.status_code == 200
    assert logo["Content-Type"] == "image/png"
    assert b"".join(logo.streaming_content).startswith(b"\x89PNG")
    assert user_client.get("/o/apps/no-such-app/logo").status_code == 404


def test_the_consent_forms_answer_may_go_to_the_apps_redirect_uri_under_the_policy(user_client):
    # Browsers apply form-action to the redirect after a post: without the app's origin there,
    # Allow would be blocked on its way back to the app.
    app, _ = partner_app()
    _, challenge = pkce_pair()

    page = user_client.get("/o/authorize/", authorize_query(app, challenge))

    directives = dict(
        part.strip().split(" ", 1) for part in page["Content-Security-Policy"].split(";")
    )
    assert "https://partner.example.com" in directives["form-action"].split()
    assert "'self'" in directives["form-action"].split()


def test_a_posted_redirect_uri_the_app_did_not_register_goes_nowhere(user_client, user):
    app, _ = partner_app()
    _, challenge = pkce_pair()
    page = user_client.get("/o/authorize/", authorize_query(app, challenge))
    fields = {**form_fields(page.content.decode()), "redirect_uri": "https://evil.example.com/"}

    denied = user_client.post("/o/authorize/", fields)
    allowed = user_client.post("/o/authorize/", {**fields, "allow": "true"})

    for answer in (denied, allowed):
        assert answer.status_code == 400
        assert "Location" not in answer
    assert not Consent.objects.filter(user=user).exists()
