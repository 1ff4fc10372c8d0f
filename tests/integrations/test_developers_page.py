"""The Developers page: a user registers an app (pending; its client secret shown once), sees
and edits only their own apps, and makes, rotates and revokes its API keys (each shown once)."""

import struct
import zlib
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import check_password
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from integrations.errors import KeyRefused
from integrations.models import AppKey, PartnerApp
from integrations.services import apps, keys
from integrations.services.apps import LOGO_MAX_BYTES
from tests.factories import UserFactory
from tests.pages import accessibility_problems, drawn_form, page, text

pytestmark = pytest.mark.django_db

ALREADY_DONE = "This operation was already done"


def png(extra: int = 0) -> bytes:
    """A valid one-pixel PNG, `extra` bytes longer (a comment chunk) when asked."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    comment = chunk(b"tEXt", b"c\x00" + b"x" * extra) if extra else b""
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + comment
        + chunk(b"IDAT", zlib.compress(b"\x00\xf0\x90\x30"))
        + chunk(b"IEND", b"")
    )


def registration(**changes) -> dict:
    data = {
        "name": "Copy Helper",
        "description": "Writes copy.",
        "homepage": "https://copy.example.com",
        "redirect_uris": "https://copy.example.com/callback\r\nhttps://copy.example.com/cb2",
        "scopes": ["openid", "credits:read", "credits:spend"],
        "proposed_cap": "300",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def secrets_shown(response) -> list[str]:
    return [code.get_text(strip=True) for code in page(response).select("code.secret")]


@pytest.fixture
def developer(client):
    user = UserFactory()
    client.force_login(user)
    return user


def own_app(user, **changes) -> PartnerApp:
    details = {
        "owner": user,
        "name": "Own app",
        "homepage": "https://own.example.com",
        "redirect_uris": "https://own.example.com/callback",
        "allowed_scopes": "openid credits:read usage:read",
    }
    details.update(changes)
    return apps.register(**details)[0]


def test_the_navigation_links_to_the_developers_page(client, developer):
    response = client.get(reverse("credits:dashboard"))

    link = page(response).select_one("nav a[href='/developers/']")
    assert link is not None
    assert link.get_text(strip=True) == "Developers"


def test_registering_an_app_shows_its_secret_once_and_it_waits_for_approval(client, developer):
    url = drawn_form(client, reverse("developers:register"))
    form_page = client.get(url)
    assert accessibility_problems(form_page) == []

    response = client.post(url, registration())

    assert PartnerApp.objects.count() == 1, text(response)
    app = PartnerApp.objects.get()
    assert response.status_code == 200
    assert (app.user, app.status, app.name) == (developer, "pending", "Copy Helper")
    assert app.allowed_scopes == "credits:read credits:spend openid"
    assert app.redirect_uris.split() == [
        "https://copy.example.com/callback",
        "https://copy.example.com/cb2",
    ]
    client_id, secret = secrets_shown(response)
    assert client_id == app.client_id
    assert check_password(secret, app.client_secret)  # only its hash is kept
    assert "not shown again" in text(response)
    assert app.status_changes.get().reason == "Registered"

    again = client.post(url, registration())
    reloaded = client.get(url)
    detail = client.get(reverse("developers:app", args=[app.pk]))
    assert PartnerApp.objects.count() == 1
    for later in (again, reloaded, detail):
        assert secret not in later.content.decode()
    assert ALREADY_DONE in text(again)
    assert "Waiting for approval" in text(detail)
    assert accessibility_problems(detail) == []


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"homepage": "http://copy.example.com"}, "The homepage must start with https://"),
        ({"homepage": "copy.example.com"}, "The homepage must be a whole address"),
        ({"redirect_uris": "not a uri"}, "Each redirect URI must be a whole address"),
        ({"redirect_uris": "http://copy.example.com/cb"}, "Each redirect URI must start with"),
        ({"redirect_uris": "https://copy.example.com/cb#top"}, "has no #fragment"),
        ({"redirect_uris": ""}, "This field is required"),
        ({"scopes": ["openid", "admin:everything"]}, "Select a valid choice"),
        ({"scopes": []}, "This field is required"),
        ({"proposed_cap": "0"}, "greater than or equal to 1"),
        ({"proposed_cap": "1.5"}, "Enter a whole number"),
        ({"name": ""}, "This field is required"),
    ],
)
def test_each_bad_detail_is_a_form_error_and_no_app(client, developer, changes, error):
    url = drawn_form(client, reverse("developers:register"))

    response = client.post(url, registration(**changes))

    assert response.status_code == 200
    assert error in text(response)
    assert PartnerApp.objects.count() == 0


@pytest.mark.parametrize(
    ("logo", "error"),
    [
        (SimpleUploadedFile("logo.png", b"just some text, named .png"), "must be a PNG, JPEG"),
        (SimpleUploadedFile("logo.gif", b"GIF89a" + b"\x00" * 40), "must be a PNG, JPEG"),
        (SimpleUploadedFile("logo.png", png(extra=LOGO_MAX_BYTES)), "it may be at most 512 KB"),
    ],
)
def test_a_logo_that_is_not_a_small_image_is_refused(client, developer, logo, error):
    url = drawn_form(client, reverse("developers:register"))

    response = client.post(url, {**registration(), "logo": logo})

    assert error in text(response)
    assert PartnerApp.objects.count() == 0


def test_a_logo_is_kept_under_our_name_and_shown_to_its_owner_only_until_approved(
    client, developer
):
    url = drawn_form(client, reverse("developers:register"))
    client.post(url, {**registration(), "logo": SimpleUploadedFile("me.exe", png())})
    app = PartnerApp.objects.get()
    logo_url = reverse("developers:logo", args=[app.pk])

    response = client.get(logo_url)

    assert app.logo.name.startswith("partner-logos/")
    assert app.logo.name.endswith(".png")
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == png()
    client.force_login(UserFactory())
    assert client.get(logo_url).status_code == 404


def test_http_addresses_are_allowed_where_the_oauth_provider_allows_them(
    client, developer, settings
):
    # What DEBUG=true gives (config/settings.py): http redirect URIs for a development server.
    settings.OAUTH2_PROVIDER = {
        **settings.OAUTH2_PROVIDER,
        "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
    }
    url = drawn_form(client, reverse("developers:register"))

    client.post(
        url,
        registration(
            homepage="http://127.0.0.1:8001", redirect_uris="http://127.0.0.1:8001/callback"
        ),
    )

    assert PartnerApp.objects.get().homepage == "http://127.0.0.1:8001"


def test_only_the_owner_reaches_an_app(client, developer):
    app = own_app(UserFactory())
    key = keys.create(app=app, name="Theirs", scope_names=["credits:read"], by=app.user).key
    addresses = [
        reverse("developers:app", args=[app.pk]),
        reverse("developers:edit", args=[app.pk]),
        reverse("developers:create-key", args=[app.pk]),
        reverse("developers:rotate-key", args=[app.pk, key.pk]),
        reverse("developers:revoke-key", args=[app.pk, key.pk]),
    ]

    for address in addresses:
        assert client.get(address).status_code == 404, address
        assert client.post(address, {"overlap_hours": "0"}).status_code == 404, address
    assert client.get(reverse("developers:index")).content.decode().count(app.name) == 0
    key.refresh_from_db()
    assert key.revoked_at is None
    assert key.replaced_by is None


def test_the_owner_edits_the_description_and_redirect_uris_while_the_app_is_live(client, developer):
    app = own_app(developer)
    url = drawn_form(client, reverse("developers:edit", args=[app.pk]))

    response = client.post(
        url,
        {"description": "Now with poems.", "redirect_uris": "https://own.example.com/new"},
    )

    app.refresh_from_db()
    assert response.status_code == 302
    assert (app.description, app.redirect_uris) == (
        "Now with poems.",
        "https://own.example.com/new",
    )
    assert app.allowed_scopes == "credits:read openid usage:read"  # scopes: staff only


def test_a_suspended_apps_details_do_not_change(client, developer):
    staff = UserFactory(is_staff=True)
    app = own_app(developer, description="As reviewed.")
    apps.change_status(app=app, to="approved", reason="Fine", by=staff)
    apps.change_status(app=app, to="suspended", reason="Complaints", by=staff)
    url = drawn_form(client, reverse("developers:edit", args=[app.pk]))

    response = client.post(
        url, {"description": "Sneaky.", "redirect_uris": "https://evil.example.com/cb"}
    )

    app.refresh_from_db()
    assert "its details can no longer change" in text(response)
    assert (app.description, app.redirect_uris) == (
        "As reviewed.",
        "https://own.example.com/callback",
    )


def test_a_key_made_on_the_page_is_shown_once_and_works(client, developer):
    app = own_app(developer)
    url = drawn_form(client, reverse("developers:create-key", args=[app.pk]))
    expires_on = (timezone.now() + timedelta(days=3)).date().isoformat()

    response = client.post(
        url, {"name": "Billing worker", "scopes": ["credits:read"], "expires_on": expires_on}
    )

    (secret,) = secrets_shown(response)
    key = AppKey.objects.get()
    assert keys.authenticate(secret) == key
    assert (key.name, key.scopes, key.created_by) == ("Billing worker", "credits:read", developer)
    assert key.expires_at.date().isoformat() > expires_on
    again = client.post(url, {"name": "Billing worker", "scopes": ["credits:read"]})
    assert ALREADY_DONE in text(again)
    assert secret not in again.content.decode()
    assert AppKey.objects.count() == 1
    detail = client.get(reverse("developers:app", args=[app.pk]))
    assert key.prefix in text(detail)
    assert secret not in detail.content.decode()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"name": "Spender", "scopes": ["credits:spend"]}, "Select a valid choice"),
        ({"name": "", "scopes": ["credits:read"]}, "This field is required"),
        ({"name": "Old", "scopes": ["credits:read"], "expires_on": "2001-01-01"}, "Choose today"),
    ],
)
def test_a_key_beyond_the_apps_scopes_or_without_a_name_is_refused(client, developer, data, error):
    app = own_app(developer)
    url = drawn_form(client, reverse("developers:create-key", args=[app.pk]))

    response = client.post(url, data)

    assert error in text(response)
    assert AppKey.objects.count() == 0


def test_rotating_a_key_on_the_page_keeps_the_old_one_for_the_overlap(client, developer):
    app = own_app(developer)
    old = keys.create(app=app, name="Server", scope_names=["credits:read"], by=developer)
    url = drawn_form(client, reverse("developers:rotate-key", args=[app.pk, old.key.pk]))
    assert accessibility_problems(client.get(url)) == []

    too_long = client.post(url, {"overlap_hours": "25"})
    assert "less than or equal to 24" in text(too_long)
    assert AppKey.objects.count() == 1

    response = client.post(url, {"overlap_hours": "2"})

    (secret,) = secrets_shown(response)
    new = keys.authenticate(secret)
    old.key.refresh_from_db()
    assert new != old.key
    assert new.scopes == "credits:read"
    assert old.key.replaced_by == new
    assert keys.authenticate(old.secret) == old.key  # still in the overlap
    overlap = old.key.expires_at - timezone.now()
    assert timedelta(hours=1, minutes=59) < overlap <= timedelta(hours=2)
    assert ALREADY_DONE in text(client.post(url, {"overlap_hours": "2"}))
    assert AppKey.objects.count() == 2


def test_revoking_a_key_on_the_page_stops_it_at_once(client, developer):
    app = own_app(developer)
    made = keys.create(app=app, name="Server", scope_names=["credits:read"], by=developer)
    url = drawn_form(client, reverse("developers:revoke-key", args=[app.pk, made.key.pk]))

    response = client.post(url)

    assert response.status_code == 302
    with pytest.raises(KeyRefused):
        keys.authenticate(made.secret)
    assert "is revoked" in text(client.get(response["Location"]))


def test_the_demo_callback_shows_the_code_to_exchange(client, developer):
    response = client.get(reverse("developers:callback"), {"code": "abc123", "state": "xyz"})

    assert "abc123" in text(response)
    assert "xyz" in text(response)
    assert accessibility_problems(response) == []


def test_the_registration_form_lists_every_scope_in_words(client, developer):
    from integrations.scopes import SCOPES

    response = client.get(drawn_form(client, reverse("developers:register")))

    boxes = page(response).select("input[name=scopes]")
    assert [box["value"] for box in boxes] == list(SCOPES)
    for words in SCOPES.values():
        assert words in text(response)


def test_a_logo_is_judged_by_its_bytes_not_its_type_header(client, developer):
    """A logo sent with a misleading type header is judged by its bytes alone."""
    url = drawn_form(client, reverse("developers:register"))
    upload = SimpleUploadedFile("logo.png", b"<svg/>", "image/png")

    response = client.post(url, {**registration(), "logo": upload})

    assert "must be a PNG, JPEG or WebP" in text(response)
    assert PartnerApp.objects.count() == 0
