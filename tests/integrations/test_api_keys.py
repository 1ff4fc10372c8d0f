"""API keys on the API: the app itself, server to server. A key works until it is revoked, it
expires, or the overlap of its rotation ends; whatever the reason, a key that does not
authenticate gets one 401. A key reaches only the app's own endpoints: no user's wallet, no
staff power, whoever owns the app."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from integrations.models import AppKey
from integrations.services import keys
from tests.factories import StaffFactory, UserFactory
from tests.integrations.partners import Partner, api_key, approved_app, oidc_key, set_status
from tests.routes import World, routes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("oidc_key")]
assert oidc_key  # a fixture, used above

REFUSED_BODY = {
    "type": "client_error",
    "errors": [
        {"code": "authentication_failed", "detail": "This API key is not valid.", "attr": None}
    ],
}


def test_a_new_key_reads_the_apps_own_endpoints():
    key = api_key(approved_app(), "credits:read")

    answer = Partner(key).get("app/consents")

    assert answer.status_code == 200
    assert answer.json() == {"next": None, "previous": None, "results": []}
    assert AppKey.objects.get().last_used_at is not None


def test_a_rotated_key_works_through_the_overlap_and_is_refused_after_it():
    app = approved_app()
    old_secret = api_key(app, "credits:read")
    old = AppKey.objects.get()
    new = keys.rotate(key=old, overlap_hours=2, by=StaffFactory())

    assert Partner(old_secret).get("app/consents").status_code == 200
    assert Partner(new.secret).get("app/consents").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=59)):
        assert Partner(old_secret).get("app/consents").status_code == 200
    with time_machine.travel(timezone.now() + timedelta(hours=2, minutes=1)):
        refused = Partner(old_secret).get("app/consents")
        assert Partner(new.secret).get("app/consents").status_code == 200
    assert refused.status_code == 401
    assert refused.json() == REFUSED_BODY


def test_a_revoked_key_is_refused_at_once():
    app = approved_app()
    secret = api_key(app, "credits:read")
    assert Partner(secret).get("app/consents").status_code == 200

    keys.revoke(key=AppKey.objects.get())

    refused = Partner(secret).get("app/consents")
    assert refused.status_code == 401
    assert refused.json() == REFUSED_BODY


def _expired(app):
    secret = api_key(app, "credits:read", expires_at=timezone.now() + timedelta(minutes=5))
    AppKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    return secret


def _with_a_wrong_secret(app):
    secret = api_key(app, "credits:read")
    return secret[:-4] + ("aaaa" if not secret.endswith("aaaa") else "bbbb")


def _of_another_environment(app):
    secret = api_key(app, "credits:read")
    environment = secret.split("_")[1]
    return secret.replace(
        f"cdk_{environment}_", "cdk_live_" if environment == "test" else "cdk_test_"
    )


@pytest.mark.parametrize(
    "presented",
    [
        _expired,
        _with_a_wrong_secret,
        _of_another_environment,
        lambda app: "cdk_test_0123456789ab_" + "x" * 43,  # an unknown prefix
        lambda app: "cdk_",
        lambda app: "cdk_test_short",
        lambda app: api_key(app, "credits:read") + " extra",
        lambda app: "cdk_test_0123456789ab_" + "é" * 43,
    ],
    ids=["expired", "wrong-secret", "other-env", "unknown", "empty", "short", "two-words", "utf8"],
)
def test_every_key_that_does_not_authenticate_gets_the_same_401(presented):
    app = approved_app()
    credential = presented(app)

    answer = Partner(credential).client.get(
        "/api/v1/app/consents", HTTP_AUTHORIZATION=f"Bearer {credential}".encode().decode("latin-1")
    )

    assert answer.status_code == 401
    assert answer.json() == REFUSED_BODY


@pytest.mark.parametrize(
    ("status", "code"), [("suspended", "app_suspended"), ("revoked", "app_revoked")]
)
def test_a_key_of_an_app_that_is_not_approved_is_refused_403(status, code):
    app = approved_app()
    secret = api_key(app, "credits:read")
    set_status(app, status)

    answer = Partner(secret).get("app/consents")

    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == code


def test_a_key_without_the_scope_an_endpoint_needs_is_refused_403():
    key = Partner(api_key(approved_app(), "usage:read"))

    refused = key.get("app/consents")

    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "insufficient_scope"
    assert "credits:read" in refused.json()["errors"][0]["detail"]
    assert key.get("app/usage").status_code == 200


def test_a_key_loses_a_scope_staff_take_from_the_app():
    app = approved_app()
    key = Partner(api_key(app, "credits:read usage:read"))
    app.allowed_scopes = "usage:read"
    app.save(update_fields=["allowed_scopes"])

    assert key.get("app/consents").status_code == 403
    assert key.get("app/usage").status_code == 200


def api_routes():
    """Every /api/v1/ address but the app's own and the API's front door."""
    for route in routes():
        inside = route.pattern.startswith("api/v1/") and route.pattern != "api/v1/"
        if inside and not route.pattern.startswith("api/v1/app/"):
            yield route


def test_a_key_reaches_no_user_or_staff_endpoint_even_of_an_app_a_superuser_owns():
    """Whatever it asks and whatever scopes it has, a key cannot act as a user (it is no one's
    credential) nor as staff, even when the app's developer is a superuser."""
    world = World(UserFactory())
    app = approved_app()
    app.user = StaffFactory(is_superuser=True)
    app.save(update_fields=["user"])
    key = Partner(api_key(app))
    world.user.wallet.refresh_from_db()
    before = (world.user.wallet.balance, world.user.wallet.held)
    checked = []

    for route in api_routes():
        address = world.address(route)
        for method in ("get", "post", "patch", "delete"):
            answer = getattr(key.client, method)(address, **key.headers)
            assert answer.status_code == 403, (method, address, answer.status_code)
            checked.append(address)

    assert "/api/v1/wallet" in checked
    assert "/api/v1/me" in checked
    assert any(address.startswith("/api/v1/admin/") for address in checked)
    world.user.wallet.refresh_from_db()
    assert (world.user.wallet.balance, world.user.wallet.held) == before


def test_a_user_endpoint_tells_a_key_it_is_the_wrong_credential():
    key = Partner(api_key(approved_app()))

    answer = key.get("wallet")

    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "scope_not_allowed"


def test_other_bearer_values_are_left_to_the_oauth_tokens_which_refuse_them_by_name():
    answer = Partner("not-a-key").get("app/consents")

    assert answer.status_code == 401
    assert answer.json()["errors"][0]["code"] == "authentication_failed"
    assert "access token is not valid" in answer.json()["errors"][0]["detail"]
