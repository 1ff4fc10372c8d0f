import pytest
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken, User
from tests.clients import api_token, sign_in_staff
from tests.factories import StaffFactory, UserFactory
from tests.pages import page, text

pytestmark = pytest.mark.django_db


def test_staff_cannot_edit_a_users_sign_in_address_in_the_admin(client):
    sign_in_staff(client, StaffFactory())
    user = UserFactory(email="carol@example.com")

    response = client.get(reverse("admin:accounts_user_change", args=[user.pk]))

    assert response.status_code == 200
    assert page(response).find("input", attrs={"name": "email"}) is None
    assert "carol@example.com" in text(response)


def test_adding_a_user_whose_address_differs_only_in_case_is_refused_plainly(client):
    sign_in_staff(client, StaffFactory())
    UserFactory(email="alice@example.com")

    response = client.post(
        reverse("admin:accounts_user_add"),
        {"email": "ALICE@example.com", "usable_password": "false"},
    )

    assert response.status_code == 200
    assert "already exists" in text(response)
    assert User.objects.filter(email__iexact="alice@example.com").count() == 1


def test_staff_see_no_token_secret_in_the_admin_and_may_revoke_a_token(client):
    sign_in_staff(client, StaffFactory())
    owner = UserFactory()
    secret = api_token(owner, name="leaked")
    token = ApiToken.objects.get()

    shown = client.get(reverse("admin:accounts_apitoken_change", args=[token.pk]))
    assert shown.status_code == 200
    assert "leaked" in text(shown)
    assert token.secret_hash not in shown.content.decode()
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404

    client.post(
        reverse("admin:accounts_apitoken_changelist"),
        {"action": "revoke_tokens", "_selected_action": [token.pk]},
    )

    response = Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Token {secret}")
    assert response.status_code == 401


def test_a_non_staff_user_opening_the_admin_gets_the_sites_403_page(client):
    client.force_login(UserFactory())

    response = client.get(reverse("admin:index"), follow=True)

    assert response.status_code == 403
    assert "the administration is for staff only" in text(response)
    assert len(page(response).find_all("h1")) == 1
