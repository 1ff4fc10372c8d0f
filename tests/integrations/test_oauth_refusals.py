"""What the OAuth 2 / OpenID Connect provider refuses, through its endpoints: only approved apps,
only the authorization code grant with PKCE S256 and an exactly registered redirect URI, only
the scopes staff allow the app, introspection only for the apps staff allow."""

import json

import pytest
from django.test import Client

from integrations.models import PartnerApp
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.integrations.oauth_helpers import (
    REDIRECT_URI,
    allow,
    authorize_query,
    basic_auth,
    exchange,
    partner_app,
    pkce_pair,
    query_of,
)
from tests.signing_key import new_rsa_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def user_client():
    client = Client()
    client.force_login(UserFactory())
    return client


def code_for(client, app, challenge, **overrides) -> str:
    answer = allow(client, app, challenge, **overrides)
    assert answer.status_code == 302, answer.content.decode()[:500]
    return query_of(answer["Location"])["code"]


def test_a_wrong_redirect_uri_gets_an_error_page_and_no_redirect(user_client):
    app, _ = partner_app()
    _, challenge = pkce_pair()
    for wrong in (
        "https://evil.example.com/callback",
        REDIRECT_URI + "?extra=1",  # exact match: no added query
        REDIRECT_URI + "/",
        REDIRECT_URI.replace("https", "http"),
    ):
        page = user_client.get("/o/authorize/", authorize_query(app, challenge, redirect_uri=wrong))

        assert page.status_code == 400, wrong
        assert "Location" not in page
        assert '<main id="main"' in page.content.decode()


def test_an_http_redirect_uri_cannot_be_registered_with_debug_off():
    with pytest.raises(Exception, match="redirect"):
        partner_app(redirect_uris="http://partner.example.com/callback")


def test_without_pkce_or_with_plain_pkce_no_code_is_given(user_client):
    app, _ = partner_app()
    verifier, challenge = pkce_pair()
    without = authorize_query(app, challenge)
    del without["code_challenge"], without["code_challenge_method"]

    missing = user_client.get("/o/authorize/", without)
    plain = user_client.get(
        "/o/authorize/", authorize_query(app, verifier, code_challenge_method="plain")
    )

    for answer in (missing, plain):
        assert answer.status_code == 302
        assert answer["Location"].startswith(REDIRECT_URI)
        assert query_of(answer["Location"])["error"] == "invalid_request"
        assert "code" not in query_of(answer["Location"])


def test_a_missing_or_wrong_code_verifier_gets_no_token(user_client):
    app, secret = partner_app()
    verifier, challenge = pkce_pair()
    code = code_for(user_client, app, challenge)

    missing = exchange(Client(), app, secret, code, None)
    wrong = exchange(Client(), app, secret, code, pkce_pair()[0])
    right = exchange(Client(), app, secret, code, verifier)

    assert missing.status_code == 400
    assert missing.json()["error"] == "invalid_request"
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    # Neither refusal spent the code: the right verifier still gets the tokens, once.
    assert right.status_code == 200
    assert exchange(Client(), app, secret, code, verifier).json()["error"] == "invalid_grant"


def test_a_code_exchanged_with_another_redirect_uri_gets_no_token(user_client):
    app, secret = partner_app(redirect_uris=f"{REDIRECT_URI} https://partner.example.com/other")
    verifier, challenge = pkce_pair()
    code = code_for(user_client, app, challenge)

    answer = exchange(
        Client(), app, secret, code, verifier, redirect_uri="https://partner.example.com/other"
    )

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


@pytest.mark.parametrize("response_type", ["token", "id_token", "id_token token", "code token"])
def test_implicit_and_hybrid_response_types_are_refused(user_client, response_type):
    app, _ = partner_app()
    _, challenge = pkce_pair()

    answer = user_client.get(
        "/o/authorize/", authorize_query(app, challenge, response_type=response_type)
    )

    assert answer.status_code == 302
    assert "#" not in answer["Location"]
    assert "access_token" not in answer["Location"]
    assert query_of(answer["Location"])["error"] in (
        "unsupported_response_type",
        "unauthorized_client",
    )


@pytest.mark.parametrize(
    "grant",
    [
        # The user's real password: the grant itself is what is refused.
        {"grant_type": "password", "username": "pat@example.com", "password": DEFAULT_PASSWORD},
        {"grant_type": "client_credentials"},
    ],
)
def test_password_and_client_credentials_grants_are_refused(grant):
    UserFactory(email="pat@example.com")
    app, secret = partner_app()

    answer = Client().post("/o/token/", grant, HTTP_AUTHORIZATION=basic_auth(app, secret))

    assert answer.status_code == 400
    assert answer.json()["error"] == "unauthorized_client"
    assert "access_token" not in answer.json()


def test_a_scope_staff_do_not_allow_the_app_is_refused(user_client):
    app, _ = partner_app(allowed_scopes="openid email")
    _, challenge = pkce_pair()

    answer = user_client.get(
        "/o/authorize/", authorize_query(app, challenge, scope="openid credits:spend")
    )

    assert answer.status_code == 302
    assert query_of(answer["Location"])["error"] == "invalid_scope"


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (PartnerApp.Status.PENDING, "waiting for CreditDesk&#x27;s staff to approve it"),
        (PartnerApp.Status.SUSPENDED, "is suspended"),
        (PartnerApp.Status.REVOKED, "has been removed"),
    ],
)
def test_an_app_that_is_not_approved_gets_an_error_page_and_no_code(user_client, status, words):
    app, _ = partner_app(status=status)
    _, challenge = pkce_pair()

    page = user_client.get("/o/authorize/", authorize_query(app, challenge))

    assert page.status_code == 403
    assert "Location" not in page
    assert words in page.content.decode()
    assert "Partner Shop" in page.content.decode()


def test_a_suspended_app_gets_no_token_for_a_code_it_got_before(user_client):
    from integrations.services import apps
    from tests.factories import StaffFactory

    app, secret = partner_app()
    verifier, challenge = pkce_pair()
    code = code_for(user_client, app, challenge)
    apps.change_status(app=app, to="suspended", reason="Abuse", by=StaffFactory())

    answer = exchange(Client(), app, secret, code, verifier)

    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"


def tokens_for(user_client, app, secret, **overrides) -> dict:
    verifier, challenge = pkce_pair()
    code = code_for(user_client, app, challenge, **overrides)
    answer = exchange(Client(), app, secret, code, verifier)
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_only_an_app_staff_allow_may_introspect_tokens(user_client):
    app, secret = partner_app()
    resource_server, its_secret = partner_app(name="Resource", may_introspect=True)
    token = tokens_for(user_client, app, secret)["access_token"]

    refused = Client().post(
        "/o/introspect/", {"token": token}, HTTP_AUTHORIZATION=basic_auth(app, secret)
    )
    anonymous = Client().post("/o/introspect/", {"token": token})
    allowed = Client().post(
        "/o/introspect/",
        {"token": token},
        HTTP_AUTHORIZATION=basic_auth(resource_server, its_secret),
    )
    unknown = Client().post(
        "/o/introspect/",
        {"token": "no-such-token"},
        HTTP_AUTHORIZATION=basic_auth(resource_server, its_secret),
    )

    assert refused.status_code == 403
    assert refused.json()["error"] == "unauthorized_client"
    assert anonymous.status_code == 401
    assert allowed.status_code == 200
    assert allowed.json()["active"] is True
    assert allowed.json()["client_id"] == app.client_id
    assert allowed.json()["scope"] == "openid email"
    assert unknown.json() == {"active": False}


def test_tokens_can_be_revoked_by_the_app_that_holds_them(user_client):
    app, secret = partner_app()
    tokens = tokens_for(user_client, app, secret, scope="openid credits:read")

    revoked = Client().post(
        "/o/revoke_token/",
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION=basic_auth(app, secret),
    )
    wallet = Client().get("/api/v1/wallet", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}")

    assert revoked.status_code == 200
    assert wallet.status_code == 401


def test_discovery_answers_at_the_root_and_under_o_and_agrees_with_the_issuer():
    root = Client().get("/.well-known/openid-configuration").json()
    under_o = Client().get("/o/.well-known/openid-configuration").json()
    oauth = Client().get("/.well-known/oauth-authorization-server").json()

    assert root == under_o
    assert root["issuer"] == oauth["issuer"] == "http://testserver"  # SITE_URL in the tests
    assert root["response_types_supported"] == ["code"]
    assert root["code_challenge_methods_supported"] == ["S256"]
    assert root["jwks_uri"] == "http://testserver/o/.well-known/jwks.json"
    assert {"sub", "email", "email_verified", "name"} <= set(root["claims_supported"])
    assert oauth["response_types_supported"] == ["code"]
    assert sorted(oauth["grant_types_supported"]) == ["authorization_code", "refresh_token"]
    assert oauth["introspection_endpoint"] == "http://testserver/o/introspect/"


def test_the_jwks_lists_the_inactive_key_after_a_rotation(settings):
    def kids() -> list[str]:
        return [key["kid"] for key in Client().get("/o/.well-known/jwks.json").json()["keys"]]

    before = kids()
    previous = settings.OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"]
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "OIDC_RSA_PRIVATE_KEY": new_rsa_key(),
        "OIDC_RSA_PRIVATE_KEYS_INACTIVE": [previous],
    }
    after = kids()

    assert len(before) == 1
    assert len(after) == 2
    assert after[1] == before[0]  # the previous key, still published
    assert after[0] != before[0]  # the new one signs


def test_the_id_token_claims_follow_the_scopes(user_client):
    app, secret = partner_app()

    openid_only = tokens_for(user_client, app, secret, scope="openid")
    everything = tokens_for(user_client, app, secret, scope="openid email profile")

    def claims(tokens) -> dict:
        import base64

        payload = tokens["id_token"].split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))

    assert "email" not in claims(openid_only)
    assert "name" not in claims(openid_only)
    assert claims(everything)["email_verified"] is True
    assert (
        claims(everything)["name"]
        == UserFactory._meta.model.objects.get(pk=int(claims(everything)["sub"])).name
    )
