import pytest
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory
from tests.pages import page, text

pytestmark = pytest.mark.django_db


def test_profile_shows_and_saves_the_name(client):
    user = UserFactory(name="Old Name")
    client.force_login(user)

    shown = client.get(reverse("accounts:profile"))
    assert page(shown).find(id="id_name")["value"] == "Old Name"
    assert user.email in text(shown)

    response = client.post(reverse("accounts:profile"), {"name": "  New Name  "}, follow=True)

    assert "Your name has been saved." in text(response)
    user.refresh_from_db()
    assert user.name == "New Name"


def test_a_too_long_name_is_refused_beside_the_field(client):
    user = UserFactory(name="Kept")
    client.force_login(user)

    response = client.post(reverse("accounts:profile"), {"name": "x" * 151})

    assert response.status_code == 200
    assert page(response).find(id="id_name_error") is not None
    user.refresh_from_db()
    assert user.name == "Kept"


def test_an_api_token_is_shown_once_and_replacing_it_stops_the_old_one(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(reverse("accounts:rotate-api-token"), follow=True)
    first = page(response).find("code", class_="secret").get_text()
    again = client.get(reverse("accounts:profile"))
    assert page(again).find("code", class_="secret") is None

    api = Client()
    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {first}").json()["email"] == user.email

    client.post(reverse("accounts:rotate-api-token"))

    assert api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {first}").status_code == 401


def test_revoking_the_api_token_stops_it(client):
    user = UserFactory()
    client.force_login(user)
    client.post(reverse("accounts:rotate-api-token"))
    token = user.auth_token.key

    response = client.post(reverse("accounts:revoke-api-token"), follow=True)

    assert "Your API token was revoked" in text(response)
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {token}").status_code == 401


def test_opening_the_token_address_directly_changes_nothing(client):
    user = UserFactory()
    client.force_login(user)

    response = client.get(reverse("accounts:rotate-api-token"))

    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:profile")
    assert not hasattr(user, "auth_token")
