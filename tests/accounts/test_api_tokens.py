"""A user's own API tokens: created on the Account page, shown once, stored as a hash, named,
expiring, revocable, and refused once revoked, expired or their user is inactive."""

import hashlib
import importlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import ApiToken
from tests.clients import api_token
from tests.factories import UserFactory
from tests.pages import page, text

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def call_me(token: str):
    return Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {token}")


def create_on_the_page(client, name="", expires_on=""):
    return client.post(
        reverse("accounts:create-api-token"),
        {"token-name": name, "token-expires_on": expires_on},
    )


def shown_token(response) -> str | None:
    secret = page(response).find("code", class_="secret")
    return secret.get_text() if secret else None


def assert_refused(response, detail_part: str):
    assert response.status_code == 401
    body = response.json()
    assert body["type"] == "client_error"
    assert body["errors"][0]["code"] == "authentication_failed"
    assert detail_part in body["errors"][0]["detail"]


def test_a_new_token_is_shown_once_and_only_its_hash_is_kept(client):
    user = UserFactory()
    client.force_login(user)

    response = create_on_the_page(client, name="Invoice sync")

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    assert "no-store" in response["Cache-Control"]
    secret = shown_token(response)
    assert secret.startswith("cdk_")
    assert shown_token(client.get(reverse("accounts:profile"))) is None
    stored = ApiToken.objects.get(user=user)
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(stored.prefix + "_")
    assert secret not in {stored.name, stored.prefix, stored.secret_hash}
    assert call_me(secret).json()["email"] == user.email


def test_the_account_page_lists_several_named_tokens(client):
    user = UserFactory()
    client.force_login(user)
    with time_machine.travel(NOON, tick=False):
        create_on_the_page(client, name="Office server", expires_on="2026-06-30")
        laptop = shown_token(create_on_the_page(client, name="Laptop script"))
        call_me(laptop)

    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        listing = text(client.get(reverse("accounts:profile")))

    office = ApiToken.objects.get(name="Office server")
    assert office.expires_at == datetime(2026, 7, 1, tzinfo=UTC)
    assert f"Office server {office.prefix}… 2026-03-02 12:00 2026-07-01 00:00 Never" in listing
    assert f"Laptop script {laptop[:12]}… 2026-03-02 12:00 Never 2026-03-02 12:00" in listing


def test_revoking_one_token_stops_it_and_leaves_the_others(client):
    user = UserFactory()
    client.force_login(user)
    kept = api_token(user, name="kept")
    revoked = api_token(user, name="to revoke")
    token = ApiToken.objects.get(name="to revoke")

    response = client.post(reverse("accounts:revoke-api-token", args=[token.pk]), follow=True)

    assert "The token \u201cto revoke\u201d was revoked" in text(response)
    assert "to revoke" not in text(response).split("Your tokens")[1]
    assert_refused(call_me(revoked), "revoked")
    assert call_me(kept).status_code == 200


def test_nobody_revokes_another_users_token(client):
    owner = UserFactory()
    secret = api_token(owner, name="mine")
    client.force_login(UserFactory())

    response = client.post(
        reverse("accounts:revoke-api-token", args=[ApiToken.objects.get().pk]), follow=True
    )

    assert "You have no such token" in text(response)
    assert call_me(secret).status_code == 200


def test_an_expired_token_is_refused():
    user = UserFactory()
    with time_machine.travel(NOON, tick=False):
        secret = api_token(user, expires_at=NOON + timedelta(days=1))
        assert call_me(secret).status_code == 200

    with time_machine.travel(NOON + timedelta(days=1), tick=False):
        assert_refused(call_me(secret), "expired on 2026-03-03 12:00 UTC")


def test_a_token_of_an_inactive_user_is_refused():
    user = UserFactory()
    secret = api_token(user)
    user.is_active = False
    user.save()

    assert_refused(call_me(secret), "User inactive")


@pytest.mark.parametrize(
    "presented",
    ["cdk_00000000_nope", "0" * 40, "cdk_", "x" * 300, "cdk_abcdef12-notasecret"],
)
def test_a_made_up_token_is_refused(presented):
    api_token(UserFactory())

    assert_refused(call_me(presented), "Invalid token.")


def test_a_token_that_shares_a_prefix_but_not_the_secret_is_refused():
    secret = api_token(UserFactory())

    assert_refused(call_me(secret[:-1] + ("A" if secret[-1] != "A" else "B")), "Invalid token.")


def test_last_used_is_written_at_most_once_a_minute():
    user = UserFactory()
    secret = api_token(user)
    token = ApiToken.objects.get()

    with time_machine.travel(NOON, tick=False):
        call_me(secret)
    with time_machine.travel(NOON + timedelta(seconds=59), tick=False):
        call_me(secret)
    token.refresh_from_db()
    assert token.last_used_at == NOON

    with time_machine.travel(NOON + timedelta(seconds=61), tick=False):
        call_me(secret)
    token.refresh_from_db()
    assert token.last_used_at == NOON + timedelta(seconds=61)


@pytest.mark.parametrize(
    ("name", "expires_on", "field", "message"),
    [
        ("", "", "name", "This field is required."),
        ("x" * 101, "", "name", "at most 100 characters"),
        ("ok", "2026-03-01", "expires_on", "Choose today or a later day."),
        ("ok", "2036-12-01", "expires_on", "within ten years"),
        ("ok", "not a date", "expires_on", "Enter a valid date."),
    ],
)
def test_a_token_form_error_is_shown_beside_its_field(client, name, expires_on, field, message):
    client.force_login(UserFactory())

    with time_machine.travel(NOON, tick=False):
        response = create_on_the_page(client, name=name, expires_on=expires_on)

    assert response.status_code == 200
    error = page(response).find(id=f"id_token-{field}_error")
    assert error is not None
    assert message in error.get_text()
    assert shown_token(response) is None
    assert ApiToken.objects.count() == 0


def test_a_second_token_with_a_live_name_is_refused_beside_the_name(client):
    user = UserFactory()
    client.force_login(user)
    api_token(user, name="CI")

    response = create_on_the_page(client, name=" CI ")

    assert "already have a token with this name" in page(response).find(
        id="id_token-name_error"
    ).get_text(" ")
    assert ApiToken.objects.count() == 1


def test_an_account_has_at_most_twenty_live_tokens(client):
    user = UserFactory()
    client.force_login(user)
    for number in range(20):
        api_token(user, name=f"token {number}")

    response = create_on_the_page(client, name="one more")

    assert "the most an account may have" in page(response).find(class_="nonfield").get_text()
    assert ApiToken.objects.count() == 20


def test_the_token_addresses_change_nothing_when_opened(client):
    user = UserFactory()
    client.force_login(user)
    api_token(user)

    assert client.get(reverse("accounts:create-api-token")).status_code == 405
    revoke = reverse("accounts:revoke-api-token", args=[ApiToken.objects.get().pk])
    assert client.get(revoke).status_code == 405
    assert ApiToken.objects.filter(revoked_at__isnull=True).count() == 1


def test_tokens_issued_by_drf_authtoken_are_carried_over_hashed_and_keep_working():
    """The data migration: the plaintext table goes, its tokens keep working."""
    user = UserFactory()
    legacy = "9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"
    table = connection.ops.quote_name("authtoken_token")
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE {table} (key varchar(40) PRIMARY KEY, created timestamp with time "
            "zone NOT NULL, user_id bigint NOT NULL)"
        )
        cursor.execute(
            f"INSERT INTO {table} (key, created, user_id) VALUES (%s, %s, %s)",
            [legacy, datetime(2025, 5, 1, 9, 30, tzinfo=UTC), user.pk],
        )
        cursor.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)",
            ["authtoken", "0001_initial", datetime(2025, 5, 1, tzinfo=UTC)],
        )
    migration = importlib.import_module("accounts.migrations.0003_carry_over_authtoken_tokens")

    assert migration.carry_over_authtoken_rows(connection, ApiToken) == 1

    token = ApiToken.objects.get(user=user)
    assert (token.name, token.prefix) == ("Earlier API token", legacy[:8])
    assert token.created_at == datetime(2025, 5, 1, 9, 30, tzinfo=UTC)
    assert token.secret_hash == hashlib.sha256(legacy.encode()).hexdigest()
    # Backups from before hold it in plaintext: it lives 30 more days, not for ever.
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)
    assert "authtoken_token" not in connection.introspection.table_names()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM django_migrations WHERE app = 'authtoken'")
        assert cursor.fetchone() == (0,)
    assert call_me(legacy).json()["email"] == user.email
