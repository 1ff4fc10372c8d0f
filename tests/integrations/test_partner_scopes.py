"""What a partner app's token for a user reaches on /api/v1/: every endpoint, taken from the URL
resolver, so an endpoint added without `required_scopes` is caught refusing partners (it fails
closed) and one added with a scope shows up in the table below for review."""

import pytest
from django.utils import timezone
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny

from core.api.permissions import required_scopes
from credits.models import CreditTransaction
from integrations.models import Consent, PartnerApp
from integrations.services import apps, consents
from tests.credits.conftest import fund
from tests.factories import StaffFactory, UserFactory
from tests.integrations.partner_calls import EVERY_SCOPE, PartnerApi, approved_app, code
from tests.routes import routes

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")

# Every user endpoint a partner app's token may call, with the scope it needs. A new one is
# added here on purpose, with its line in docs/partners.md.
PARTNER_ENDPOINTS = {
    ("me", "GET"): ("openid",),
    ("wallet", "GET"): ("credits:read",),
    ("transactions", "GET"): ("credits:read",),
    ("transactions/<int:transaction_id>", "GET"): ("credits:read",),
    ("transactions/<int:transaction_id>/refunds", "POST"): ("credits:refund",),
    ("grants", "GET"): ("credits:read",),
    ("statements", "GET"): ("credits:read",),
    ("spends", "POST"): ("credits:spend",),
    ("holds", "POST"): ("credits:hold",),
    ("holds/<int:hold_id>/capture", "POST"): ("credits:hold",),
    ("holds/<int:hold_id>/release", "POST"): ("credits:hold",),
}


def api_endpoints(*, staff: bool) -> list[tuple[str, str, type]]:
    """(pattern under /api/v1/, method, view class) of every DRF endpoint: the user's, or
    staff's (under admin/)."""
    found = []
    for route in routes():
        view = getattr(route.callback, "cls", None)
        if not route.pattern.startswith("api/v1/") or view is None:
            continue
        pattern = route.pattern.removeprefix("api/v1/")
        if pattern.startswith("admin/") != staff:
            continue
        found += [(pattern, m.upper(), view) for m in METHODS if hasattr(view, m)]
    return found


def address(pattern: str) -> str:
    # No object of these ids exists: a call the scope lets through ends in a 404 or a 400.
    return pattern.replace("<int:", "<").split("<")[0] + "".join(
        "999999" + part.split(">", 1)[1] for part in pattern.split("<")[1:]
    )


def call(api, method: str, pattern: str, view=None):
    if method == "GET":
        return api.get(address(pattern))
    if view is not None and MultiPartParser in view.parser_classes:  # an upload: no JSON
        return api.client.post(f"/api/v1/{address(pattern)}", {}, **api.headers)
    return api.send(method.lower(), address(pattern), {})


def is_public(view) -> bool:
    return AllowAny in view.permission_classes


def partner_scopes_of(view, method: str) -> tuple[str, ...] | None:
    """The scopes a user's partner token needs, or None: partner user tokens are refused."""
    if getattr(view, "partner_acts_as", "user") != "user":
        return None
    return required_scopes(view, method)


def test_the_endpoints_partner_tokens_reach_are_the_reviewed_ones():
    reachable = {
        (pattern, method): needed
        for pattern, method, view in api_endpoints(staff=False)
        if (needed := partner_scopes_of(view, method)) is not None
    }

    assert reachable == PARTNER_ENDPOINTS


def test_every_user_endpoint_refuses_a_partner_token_without_its_scope_and_serves_one_with_it():
    user = UserFactory()
    app = approved_app()
    wrong = []
    for pattern, method, view in api_endpoints(staff=False):
        if is_public(view):
            continue
        needed = partner_scopes_of(view, method)
        if needed is None:
            refused = call(PartnerApi(app, user, EVERY_SCOPE), method, pattern, view)
            if refused.status_code != 403 or code(refused) != "scope_not_allowed":
                wrong.append((method, pattern, "unscoped", refused.status_code, refused.content))
            continue
        others = " ".join(name for name in EVERY_SCOPE.split() if name not in needed)
        refused = call(PartnerApi(app, user, others), method, pattern, view)
        if refused.status_code != 403 or code(refused) != "insufficient_scope":
            wrong.append((method, pattern, "without", refused.status_code, refused.content))
        served = call(PartnerApi(app, user, " ".join(needed)), method, pattern, view)
        if served.status_code in (401, 403):
            wrong.append((method, pattern, "with", served.status_code, served.content))

    assert wrong == []


def test_scopes_the_user_did_not_give_are_refused_even_if_the_token_row_names_them():
    # A token's scopes are narrowed to what staff allow the app now.
    user = UserFactory()
    app = approved_app(allowed="openid credits:read credits:spend")
    api = PartnerApi(app, user, "openid credits:read credits:spend")
    PartnerApp.objects.filter(pk=app.pk).update(allowed_scopes="openid credits:read")

    refused = api.post("spends", {"amount": 1, "description": "Translation"})

    assert (refused.status_code, code(refused)) == (403, "insufficient_scope")
    assert api.get("wallet").status_code == 200


def test_staff_endpoints_refuse_partner_tokens_even_a_staff_members():
    staff = StaffFactory()
    api = PartnerApi(approved_app(), staff, EVERY_SCOPE)
    answered = {
        (method, pattern): call(api, method, pattern, view).status_code
        for pattern, method, view in api_endpoints(staff=True)
    }

    assert answered
    assert set(answered.values()) == {403}


@pytest.mark.parametrize("status", [PartnerApp.Status.SUSPENDED, PartnerApp.Status.REVOKED])
def test_a_suspended_or_revoked_app_is_refused_on_every_call(status):
    user = UserFactory()
    app = approved_app()
    api = PartnerApi(app, user, EVERY_SCOPE)
    apps.change_status(app=app, to=status, reason="Complaints", by=StaffFactory())
    answered = {
        (method, pattern): (response.status_code, code(response))
        for pattern, method, view in api_endpoints(staff=False) + api_endpoints(staff=True)
        if (response := call(api, method, pattern, view))
    }

    assert set(answered.values()) == {(403, f"app_{status}")}


def test_a_revoked_consent_ends_the_apps_tokens_for_the_user():
    user = UserFactory()
    fund(user.wallet, 100)
    api = PartnerApi(approved_app(), user, "credits:read credits:spend")
    assert api.get("wallet").status_code == 200

    consents.revoke(consent=api.consent)

    assert api.get("wallet").status_code == 401
    assert api.post("spends", {"amount": 1, "description": "x"}).status_code == 401


@pytest.mark.parametrize(
    ("path", "body"),
    [("spends", {"amount": 5, "description": "Translation"}),
     ("holds", {"amount": 5, "description": "Translation"})],
)  # fmt: skip
def test_the_ledger_refuses_a_charge_after_the_consent_ends_even_with_a_stale_token(path, body):
    user = UserFactory()
    fund(user.wallet, 100)
    api = PartnerApi(approved_app(), user, "credits:read credits:spend credits:hold")
    # The consent ends but the token row survives (as if its deletion had not happened yet).
    Consent.objects.filter(pk=api.consent.pk).update(revoked_at=timezone.now())

    refused = api.post(path, body)

    assert (refused.status_code, code(refused)) == (403, "consent_revoked")
    assert not CreditTransaction.objects.filter(wallet=user.wallet, actor_app_id__isnull=False)
    user.wallet.refresh_from_db()
    assert (user.wallet.balance, user.wallet.held) == (100, 0)
