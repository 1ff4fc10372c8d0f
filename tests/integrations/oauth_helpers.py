"""Partner apps and the OAuth 2 authorization code flow as tests drive it: an approved app, a
PKCE pair, the consent page posted as a user's browser posts it, a code exchanged for tokens."""

import base64
import hashlib
import re
import secrets
from html import unescape
from urllib.parse import parse_qs, urlsplit

from integrations.models import PartnerApp
from integrations.services import apps
from tests.factories import StaffFactory, UserFactory

REDIRECT_URI = "https://partner.example.com/callback"


def partner_app(
    *,
    status: str = PartnerApp.Status.APPROVED,
    allowed_scopes: str = "openid profile email credits:read credits:spend",
    proposed_cap: int = 1_000,
    redirect_uris: str = REDIRECT_URI,
    name: str = "Partner Shop",
    may_introspect: bool = False,
) -> tuple[PartnerApp, str]:
    """An app registered by its developer and brought to `status` by staff; returns it and its
    client secret."""
    app, secret = apps.register(
        owner=UserFactory(name="Dana Developer"),
        name=name,
        homepage="https://partner.example.com/",
        redirect_uris=redirect_uris,
        allowed_scopes=allowed_scopes,
        proposed_cap=proposed_cap,
    )
    staff = StaffFactory()
    path = {
        PartnerApp.Status.PENDING: [],
        PartnerApp.Status.APPROVED: [PartnerApp.Status.APPROVED],
        PartnerApp.Status.SUSPENDED: [PartnerApp.Status.APPROVED, PartnerApp.Status.SUSPENDED],
        PartnerApp.Status.REVOKED: [PartnerApp.Status.REVOKED],
    }[status]
    for step in path:
        app = apps.change_status(app=app, to=step, reason="Reviewed", by=staff)
    if may_introspect:
        PartnerApp.objects.filter(pk=app.pk).update(may_introspect=True)
        app.refresh_from_db()
    return app, secret


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, its S256 code_challenge), as RFC 7636 says."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def authorize_query(app: PartnerApp, challenge: str, **overrides) -> dict:
    return {
        "response_type": "code",
        "client_id": app.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid email",
        "state": "state-123",
        "nonce": "nonce-456",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **overrides,
    }


def form_fields(html: str) -> dict[str, str]:
    """The named <input>s of the consent form (hidden fields, the cap)."""
    fields = {}
    for tag in re.findall(r"<input\b[^>]*>", html):
        name = re.search(r'\bname="([^"]*)"', tag)
        value = re.search(r'\bvalue="([^"]*)"', tag)
        if name:
            fields[unescape(name[1])] = unescape(value[1]) if value else ""
    return fields


def query_of(location: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(location).query).items()}


def basic_auth(app: PartnerApp, secret: str) -> str:
    return "Basic " + base64.b64encode(f"{app.client_id}:{secret}".encode()).decode()


def allow(client, app: PartnerApp, challenge: str, *, cap=None, **overrides):
    """The user opens the consent page and presses Allow (with `cap`, if given); returns the
    response to the POST (a redirect to the app with a code)."""
    page = client.get("/o/authorize/", authorize_query(app, challenge, **overrides))
    assert page.status_code == 200, page.content.decode()[:2000]
    fields = form_fields(page.content.decode())
    fields.pop("csrfmiddlewaretoken", None)
    if cap is not None:
        fields["cap"] = str(cap)
    return client.post("/o/authorize/", {**fields, "allow": "true"})


def exchange(client, app: PartnerApp, secret: str, code: str, verifier: str | None, **extra):
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    if verifier is not None:
        data["code_verifier"] = verifier
    data.update(extra)
    return client.post("/o/token/", data, HTTP_AUTHORIZATION=basic_auth(app, secret))
