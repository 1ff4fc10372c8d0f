"""Staff's partner apps in the admin: the list with usage figures, status changes and releasing
holds with a reason (each a form that acts once), the details staff set, keys (the secret shown
once), the app's consents, log and usage; and the permissions each act needs."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.hashers import check_password
from django.urls import reverse
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_grant_model, get_id_token_model

from credits import services as credits
from credits.actors import Actor
from credits.models import Hold
from integrations.errors import KeyRefused
from integrations.models import AppKey, AppStatusChange, AppUsageDay, PartnerApp
from integrations.services import apps, caps, consents, keys
from tests.clients import sign_in_staff
from tests.credits.conftest import fund, key
from tests.factories import StaffFactory, UserFactory
from tests.pages import drawn_form, page, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]

ALREADY_DONE = "This operation was already done"
CHANGELIST = "admin:integrations_partnerapp_changelist"


def make_app(name="Partner", status="pending", scopes="openid credits:read credits:hold"):
    owner = UserFactory()
    app, _ = apps.register(
        owner=owner,
        name=name,
        homepage="https://partner.example.com",
        redirect_uris="https://partner.example.com/callback",
        allowed_scopes=scopes,
        proposed_cap=500,
    )
    reviewer = UserFactory(is_staff=True)
    if status in ("approved", "suspended"):
        app = apps.change_status(app=app, to="approved", reason="Reviewed", by=reviewer)
    if status == "suspended":
        app = apps.change_status(app=app, to="suspended", reason="Complaints", by=reviewer)
    return app


def app_actor(app, user):
    return Actor.for_app(
        app.pk, app.name, user_id=user.pk, charge_limit=caps.charge_limit(app.pk, user.pk)
    )


def hold_for(app, user, amount=50):
    """A hold the app placed on `user`'s wallet (the user consented)."""
    if consents.live_consent(app=app, user=user) is None:
        consents.give(app=app, user=user, scope_names=["credits:hold"], cap=500)
    return credits.hold(
        wallet=user.wallet,
        amount=amount,
        description="Work",
        actor=app_actor(app, user),
        idempotency_key=key(),
    ).hold


@pytest.fixture
def staff(client):
    member = StaffFactory()
    sign_in_staff(client, member)
    return member


def operation_url(name, *chosen):
    url = reverse("admin:integrations_partnerapp_operation", args=[name])
    return f"{url}?ids={','.join(str(app.pk) for app in chosen)}"


def test_the_list_shows_each_apps_requests_and_credits_charged_in_30_days(client, staff):
    app = make_app(status="approved")
    quiet = make_app(name="Quiet", status="approved")
    today = timezone.now().date()
    AppUsageDay.objects.create(app=app, day=today, requests=7)
    AppUsageDay.objects.create(app=app, day=today - timedelta(days=3), requests=5)
    AppUsageDay.objects.create(app=app, day=today - timedelta(days=40), requests=1000)
    user = UserFactory()
    fund(user.wallet, 1000)
    consents.give(app=app, user=user, scope_names=["credits:hold"], cap=500)
    held = hold_for(app, user, 80)
    credits.capture(hold=held, amount=30, actor=app_actor(app, user), idempotency_key=key())

    response = client.get(reverse(CHANGELIST))

    rows = {
        row.select_one("th").get_text(strip=True): [
            cell.get_text(strip=True) for cell in row.select("td")
        ]
        for row in page(response).select("#result_list tbody tr")
    }
    assert rows["Partner"][-3:-1] == ["12", "30"]
    assert rows[quiet.name][-3:-1] == ["0", "0"]


def test_the_status_filter_lists_apps_by_status(client, staff):
    make_app(name="Waiting")
    make_app(name="Running", status="approved")

    response = client.get(reverse(CHANGELIST), {"status__exact": "pending"})

    names = [th.get_text(strip=True) for th in page(response).select("#result_list tbody th")]
    assert names == ["Waiting"]


def test_approving_asks_a_reason_and_logs_it(client, staff):
    app = make_app()
    started = client.post(
        reverse(CHANGELIST), {"action": "approve_apps", "_selected_action": [app.pk]}
    )
    assert started["Location"] == operation_url("approve", app)
    url = drawn_form(client, started["Location"])

    refused = client.post(url, {"reason": "  "})
    app.refresh_from_db()
    assert "This field is required" in text(refused)
    assert app.status == "pending"

    client.post(url, {"reason": "Checked the company and its scopes."})

    app.refresh_from_db()
    change = app.status_changes.first()
    assert app.status == "approved"
    assert (change.from_status, change.to_status) == ("pending", "approved")
    assert (change.reason, change.changed_by) == ("Checked the company and its scopes.", staff)
    assert ALREADY_DONE in text(client.post(url, {"reason": "Again"}))
    assert app.status_changes.count() == 2


@pytest.mark.parametrize(
    ("status", "operation", "after"),
    [
        ("approved", "suspend", "suspended"),
        ("suspended", "reactivate", "approved"),
        ("suspended", "revoke", "revoked"),
    ],
)
def test_each_status_change_goes_through_its_form(client, staff, status, operation, after):
    app = make_app(status=status)
    url = drawn_form(client, operation_url(operation, app))

    client.post(url, {"reason": "Staff decision"})

    app.refresh_from_db()
    assert app.status == after
    assert app.status_changes.first().reason == "Staff decision"


def test_revoked_is_final(client, staff):
    app = make_app(status="approved")
    apps.change_status(app=app, to="revoked", reason="Fraud", by=staff)
    changes = AppStatusChange.objects.count()

    for operation in ("reactivate", "approve", "suspend"):
        url = drawn_form(client, operation_url(operation, app))
        response = client.post(url, {"reason": "Try again"}, follow=True)
        assert "does not apply to it" in text(response)

    app.refresh_from_db()
    assert app.status == "revoked"
    assert AppStatusChange.objects.count() == changes
    change_page = client.get(reverse("admin:integrations_partnerapp_change", args=[app.pk]))
    buttons = [link.get_text(strip=True) for link in page(change_page).select("a.button")]
    assert "Release all open holds" in buttons
    assert not {"Approve", "Reactivate", "Suspend", "Revoke (final)", "Create a key"} & set(buttons)


def test_releasing_holds_releases_the_apps_open_holds_and_no_one_elses(client, staff):
    app = make_app(status="approved")
    other = make_app(name="Other", status="approved")
    user = UserFactory()
    fund(user.wallet, 1000)
    first, second = hold_for(app, user, 100), hold_for(app, user, 50)
    theirs = hold_for(other, user, 70)
    mine = credits.hold(
        wallet=user.wallet,
        amount=20,
        actor=Actor.for_user(user),
        idempotency_key=key(),
        description="The user's own",
    ).hold
    apps.change_status(app=app, to="suspended", reason="Complaints", by=staff)
    url = drawn_form(client, operation_url("release_holds", app))

    refused = client.post(url, {"reason": ""})
    assert "This field is required" in text(refused)
    assert Hold.objects.filter(status="open").count() == 4

    response = client.post(url, {"reason": "Suspended: give the credits back"}, follow=True)

    for hold in (first, second, theirs, mine):
        hold.refresh_from_db()
    assert (first.status, second.status) == ("released", "released")
    assert (theirs.status, mine.status) == ("open", "open")
    assert "2 open hold(s) released" in text(response)
    user.wallet.refresh_from_db()
    assert user.wallet.held == 90


def test_staff_without_the_permission_are_refused(client):
    app = make_app(status="approved")
    made = keys.create(app=app, name="Server", scope_names=["credits:read"], by=app.user)
    viewer = StaffFactory(is_superuser=False, permissions=["integrations.view_partnerapp"])
    sign_in_staff(client, viewer)

    addresses = [
        operation_url("suspend", app),
        operation_url("release_holds", app),
        reverse("admin:integrations_partnerapp_create_key", args=[app.pk]),
        reverse("admin:integrations_partnerapp_rotate_key", args=[app.pk, made.key.pk]),
        reverse("admin:integrations_partnerapp_revoke_key", args=[app.pk, made.key.pk]),
        reverse("admin:integrations_partnerapp_add"),
    ]
    for address in addresses:
        assert client.get(address).status_code == 403, address
        assert client.post(address, {"reason": "x"}).status_code == 403, address
    assert (
        client.get(reverse("admin:integrations_partnerapp_change", args=[app.pk])).status_code
        == 200
    )
    app.refresh_from_db()
    assert app.status == "approved"
    assert keys.authenticate(made.secret) == made.key


def test_a_reviewer_may_change_status_but_not_release_holds(client):
    app = make_app(status="approved")
    reviewer = StaffFactory(
        is_superuser=False,
        permissions=["integrations.view_partnerapp", "integrations.review_partnerapp"],
    )
    sign_in_staff(client, reviewer)

    assert client.get(operation_url("release_holds", app)).status_code == 403
    url = drawn_form(client, operation_url("suspend", app))
    client.post(url, {"reason": "Complaints"})

    app.refresh_from_db()
    assert app.status == "suspended"


def test_keys_are_made_rotated_and_revoked_from_the_apps_page(client, staff):
    app = make_app(status="approved")
    change_page = client.get(reverse("admin:integrations_partnerapp_change", args=[app.pk]))
    assert "Create a key" in text(change_page)

    url = drawn_form(client, reverse("admin:integrations_partnerapp_create_key", args=[app.pk]))
    bad = client.post(url, {"name": "Too wide", "scopes": ["credits:spend"]})
    assert "Select a valid choice" in text(bad)
    assert AppKey.objects.count() == 0
    made = client.post(url, {"name": "Server", "scopes": ["credits:read"]})
    (secret,) = [code.get_text(strip=True) for code in page(made).select("code.secret")]
    created = keys.authenticate(secret)
    assert (created.app, created.created_by) == (app, staff)
    again = client.post(url, {"name": "Server", "scopes": ["credits:read"]})
    assert ALREADY_DONE in text(again)
    assert secret not in again.content.decode()

    rotate = drawn_form(
        client, reverse("admin:integrations_partnerapp_rotate_key", args=[app.pk, created.pk])
    )
    rotated = client.post(rotate, {"overlap_hours": "0"})
    (new_secret,) = [code.get_text(strip=True) for code in page(rotated).select("code.secret")]
    replacement = keys.authenticate(new_secret)
    with pytest.raises(KeyRefused):
        keys.authenticate(secret)  # no overlap: it stopped at once

    revoke = drawn_form(
        client,
        reverse("admin:integrations_partnerapp_revoke_key", args=[app.pk, replacement.pk]),
    )
    client.post(revoke)
    with pytest.raises(KeyRefused):
        keys.authenticate(new_secret)


def test_staff_create_an_app_through_registration_and_see_its_secret_once(client, staff):
    owner = UserFactory()
    url = drawn_form(client, reverse("admin:integrations_partnerapp_add"))
    data = {
        "owner": owner.email,
        "name": "Staff-made",
        "homepage": "https://staff-made.example.com",
        "redirect_uris": "https://staff-made.example.com/cb",
        "scopes": ["openid", "credits:read"],
        "proposed_cap": "200",
    }

    assert page(client.get(url)).select_one("form[enctype='multipart/form-data'] input[type=file]")
    unknown_owner = client.post(url, {**data, "owner": "nobody@example.com"})
    assert "No CreditDesk account" in text(unknown_owner)
    assert PartnerApp.objects.count() == 0

    response = client.post(url, data)

    app = PartnerApp.objects.get()
    (secret,) = [code.get_text(strip=True) for code in page(response).select("code.secret")]
    assert check_password(secret, app.client_secret)
    assert (app.user, app.status, app.status_changes.get().changed_by) == (owner, "pending", staff)
    assert ALREADY_DONE in text(client.post(url, data))
    assert PartnerApp.objects.count() == 1


def change_form_data(response) -> dict:
    """What the change form would send as drawn: every field's current value."""
    form = page(response).select_one("#partnerapp_form")
    data: dict = {}
    for field in form.select("input, textarea, select"):
        name = field.get("name")
        if not name or field.get("type") in ("submit", "file"):
            continue
        if field.name == "textarea":
            data[name] = field.get_text()
        elif field.name == "select":
            chosen = field.select_one("option[selected]")
            data[name] = chosen["value"] if chosen else ""
        elif field.get("type") == "checkbox":
            if field.has_attr("checked"):
                data.setdefault(name, []).append(field.get("value", "on"))
        else:
            data[name] = field.get("value", "")
    return data


def test_staff_edit_scopes_redirect_uris_rate_limit_cap_and_introspection(client, staff):
    app = make_app(status="approved")
    url = reverse("admin:integrations_partnerapp_change", args=[app.pk])
    data = change_form_data(client.get(url))

    data.update(
        allowed_scopes=["openid", "credits:read", "credits:spend"],
        redirect_uris="https://partner.example.com/a\r\nhttps://partner.example.com/b",
        rate_limit_per_minute="120",
        proposed_cap="750",
        may_introspect="on",
    )
    response = client.post(url, data)

    assert response.status_code == 302, text(response)
    app.refresh_from_db()
    assert app.allowed_scopes == "credits:read credits:spend openid"
    assert app.redirect_uris == "https://partner.example.com/a https://partner.example.com/b"
    assert (app.rate_limit_per_minute, app.proposed_cap, app.may_introspect) == (120, 750, True)


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"redirect_uris": "http://partner.example.com/cb"}, "must start with https://"),
        ({"allowed_scopes": ["openid", "root"]}, "Select a valid choice"),
        ({"allowed_scopes": []}, "This field is required"),
        ({"proposed_cap": "0"}, "The proposed cap must be a whole number"),
    ],
)
def test_a_bad_edit_is_a_form_error_and_changes_nothing(client, staff, changes, error):
    app = make_app(status="approved")
    url = reverse("admin:integrations_partnerapp_change", args=[app.pk])
    data = {**change_form_data(client.get(url)), **changes}

    response = client.post(url, data)

    assert error in text(response)
    before = (app.redirect_uris, app.allowed_scopes, app.proposed_cap)
    app.refresh_from_db()
    assert (app.redirect_uris, app.allowed_scopes, app.proposed_cap) == before


def test_the_apps_page_shows_its_consents_log_and_usage_per_day(client, staff):
    app = make_app(status="approved")
    user = UserFactory()
    consents.give(app=app, user=user, scope_names=["credits:read"], cap=120)
    AppUsageDay.objects.create(app=app, day=timezone.now().date(), requests=42, client_errors=3)

    response = client.get(reverse("admin:integrations_partnerapp_change", args=[app.pk]))

    shown = text(response)
    assert user.email in shown
    assert "120" in shown
    assert "Reviewed" in shown
    assert "Registered" in shown
    usage = page(response).select_one("figure svg[role=img]")
    assert usage is not None
    assert "42 requests" in usage.get_text(" ")
    today = timezone.now().date().isoformat()
    row = next(r for r in page(response).select("details tr") if today in r.get_text())
    assert [cell.get_text(strip=True) for cell in row.select("td")][:3] == [today, "42", "3"]


def test_oauth_toolkits_own_pages_are_replaced(client, staff):
    assert not admin.site.is_registered(get_grant_model())
    assert not admin.site.is_registered(get_id_token_model())
    token_admin = admin.site._registry[get_access_token_model()]
    assert token_admin.has_add_permission(None) is False
    assert (
        token_admin.has_change_permission(type("R", (), {"user": staff})(), obj=object()) is False
    )
    assert type(admin.site._registry[PartnerApp]).__name__ == "PartnerAppAdmin"


def test_a_staff_session_without_two_factor_changes_no_app(client):
    app = make_app()
    client.force_login(StaffFactory())  # a password sign-in only

    url = operation_url("approve", app)
    response = client.get(url)
    posted = client.post(url, {"reason": "Looks fine"})

    assert response.status_code == 302
    assert "/admin/" not in response["Location"]
    assert posted.status_code == 302
    app.refresh_from_db()
    assert app.status == "pending"
