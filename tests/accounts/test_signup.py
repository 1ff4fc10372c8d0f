import re
from urllib.parse import urlparse

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from accounts.models import User
from tests.factories import UserFactory
from tests.pages import page, text

pytestmark = pytest.mark.django_db

STRONG_PASSWORD = "plum-orbit-lantern-42"


def sign_up(client, email, password1=STRONG_PASSWORD, password2=STRONG_PASSWORD):
    return client.post(
        reverse("account_signup"),
        {"email": email, "password1": password1, "password2": password2},
    )


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def test_sign_up_asks_to_verify_and_the_emailed_link_signs_the_user_in(client, mailoutbox):
    response = sign_up(client, "new.person@example.com")

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="new.person@example.com")
    assert signed_in_user_id(client) is None
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["new.person@example.com"]
    assert "Hello from CreditDesk!" in mailoutbox[0].body

    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mailoutbox[0].body).group(0)
    confirm_path = urlparse(link).path
    assert client.get(confirm_path).status_code == 200
    response = client.post(confirm_path)

    assert response.status_code == 302
    assert response["Location"] == reverse("credits:dashboard")
    assert signed_in_user_id(client) == str(user.pk)
    assert EmailAddress.objects.get(user=user).verified


def test_sign_in_before_verifying_sends_the_user_back_to_verification(client, mailoutbox):
    UserFactory(email="unverified@example.com", verified_email=False)

    response = client.post(
        reverse("account_login"),
        {"login": "unverified@example.com", "password": "correct-horse-battery-staple"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert signed_in_user_id(client) is None


def test_sign_up_with_a_weak_password_is_refused_beside_the_field(client):
    response = sign_up(client, "weak@example.com", "12345678", "12345678")

    assert response.status_code == 200
    error = page(response).find(id="id_password1_error")
    assert error is not None
    assert "too common" in error.get_text()
    assert not User.objects.filter(email="weak@example.com").exists()


def test_sign_up_with_mismatched_passwords_is_refused_beside_the_field(client):
    response = sign_up(client, "typo@example.com", STRONG_PASSWORD, STRONG_PASSWORD + "x")

    assert response.status_code == 200
    error = page(response).find(id="id_password2_error")
    assert error is not None
    assert "same password" in error.get_text()
    assert not User.objects.filter(email="typo@example.com").exists()


def test_sign_up_without_an_email_is_refused(client):
    response = sign_up(client, "")

    assert response.status_code == 200
    assert "This field is required" in text(response)
    assert User.objects.count() == 0
