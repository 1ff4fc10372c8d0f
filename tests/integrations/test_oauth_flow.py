"""The whole sign-in, as a partner app lives it: a real OAuth client (authlib) against the live
server runs the authorization code flow with PKCE while the user's browser (a requests session
signed in as the user) allows it on the consent page; the partner exchanges the code, checks
the ID token against the JWKS it fetches (RS256 signature, iss, aud, exp, nonce), reads
userinfo and the wallet, refreshes, and sees a reused refresh token revoke its whole family."""

import re
import secrets
from html import unescape

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from django.db import connection
from django.test import Client
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidClaimError
from joserfc.jwk import KeySet

from tests.factories import UserFactory
from tests.integrations.oauth_helpers import REDIRECT_URI, partner_app, query_of

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a live server needs transactional tests, whose SQLite flush the ledger's "
        "append-only triggers refuse; runs on PostgreSQL (DATABASE_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]

SCOPE = "openid email profile credits:read"


@pytest.fixture
def server(live_server, settings):
    """The live server, as the site's address (the issuer of ID tokens and of discovery)."""
    settings.SITE_URL = live_server.url
    # Plain http here: the browser must send its cookies back without TLS.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    return live_server.url


def browser_of(server: str, user) -> requests.Session:
    """The user's browser: the session cookie of a signed-in user."""
    client = Client()
    client.force_login(user)
    browser = requests.Session()
    browser.cookies.set("sessionid", client.cookies["sessionid"].value)
    return browser


def consent(browser: requests.Session, authorization_url: str) -> str:
    """Open the consent page and press Allow; returns where CreditDesk sends the browser."""
    page = browser.get(authorization_url, allow_redirects=False)
    assert page.status_code == 200, page.text[:1000]
    fields = {
        unescape(name): unescape(value)
        for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text)
    }
    answer = browser.post(
        page.url.split("?")[0],
        data={**fields, "allow": "true"},
        headers={"Referer": page.url},
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text[:1000]
    return answer.headers["Location"]


def test_a_partner_signs_a_user_in_validates_the_id_token_and_refreshes(server):
    user = UserFactory(email="robin@example.com", name="Robin Reader")
    app, secret = partner_app(allowed_scopes=SCOPE)
    discovery = requests.get(f"{server}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == server
    partner = OAuth2Session(
        app.client_id,
        secret,
        scope=SCOPE,
        redirect_uri=REDIRECT_URI,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    nonce = secrets.token_urlsafe(16)
    authorization_url, state = partner.create_authorization_url(
        discovery["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )

    back = consent(browser_of(server, user), authorization_url)

    assert back.startswith(REDIRECT_URI)
    assert query_of(back)["state"] == state
    assert query_of(back)["iss"] == server
    token = partner.fetch_token(
        discovery["token_endpoint"], authorization_response=back, code_verifier=verifier
    )

    # The ID token, checked as any OpenID Connect client must check it.
    keys = KeySet.import_key_set(requests.get(discovery["jwks_uri"], timeout=10).json())
    id_token = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    assert id_token.header["alg"] == "RS256"
    expected = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": server},
        aud={"essential": True, "value": app.client_id},
        exp={"essential": True},
        nonce={"essential": True, "value": nonce},
        sub={"essential": True, "value": str(user.pk)},
    )
    expected.validate(id_token.claims)
    assert id_token.claims["email"] == "robin@example.com"
    assert id_token.claims["email_verified"] is True
    assert id_token.claims["name"] == "Robin Reader"
    # Checks that can fail: another nonce, another audience, a changed payload.
    with pytest.raises(InvalidClaimError):
        jwt.JWTClaimsRegistry(nonce={"essential": True, "value": "other"}).validate(id_token.claims)
    with pytest.raises(InvalidClaimError):
        jwt.JWTClaimsRegistry(aud={"essential": True, "value": "other-app"}).validate(
            id_token.claims
        )
    header, payload, signature = token["id_token"].split(".")
    with pytest.raises(BadSignatureError):
        jwt.decode(f"{header}.{payload[:-4]}AAAA.{signature}", keys, algorithms=["RS256"])

    userinfo = partner.get(discovery["userinfo_endpoint"]).json()
    assert userinfo["sub"] == str(user.pk)
    assert userinfo["email"] == "robin@example.com"
    wallet = partner.get(f"{server}/api/v1/wallet")
    assert wallet.status_code == 200

    # A refresh gives a new pair; the old refresh token presented again revokes the family.
    first_refresh = token["refresh_token"]
    refreshed = partner.refresh_token(discovery["token_endpoint"], refresh_token=first_refresh)
    assert refreshed["refresh_token"] != first_refresh
    assert refreshed["access_token"] != token["access_token"]
    assert partner.get(f"{server}/api/v1/wallet").status_code == 200

    def refresh_with(refresh_token: str) -> requests.Response:
        return requests.post(
            discovery["token_endpoint"],
            data={"grant_type": "refresh_token", "refresh_token": refresh_token},
            auth=(app.client_id, secret),
            timeout=10,
        )

    reused = refresh_with(first_refresh)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    # The family is revoked: the newest refresh token, never reused, is refused too.
    assert refresh_with(refreshed["refresh_token"]).json()["error"] == "invalid_grant"
