import pytest
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.pages import text

pytestmark = pytest.mark.django_db

WRONG_CREDENTIALS = "The email address and/or password you specified are not correct."
RATE_LIMITED = "Too many failed sign-in attempts for this account. Wait 5 minutes"


def sign_in(client, email, password):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_sign_in_with_the_right_password_lands_on_the_dashboard(client):
    user = UserFactory()

    response = sign_in(client, user.email, DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == reverse("credits:dashboard")
    assert client.session["_auth_user_id"] == str(user.pk)


def test_sign_in_with_a_wrong_password_fails_with_one_message(client):
    user = UserFactory()

    response = sign_in(client, user.email, "not-the-password")

    assert response.status_code == 200
    assert text(response).count(WRONG_CREDENTIALS) == 1
    assert "_auth_user_id" not in client.session


def test_repeated_failures_are_rate_limited_even_with_the_right_password(client):
    user = UserFactory()
    for _ in range(5):
        assert WRONG_CREDENTIALS in text(sign_in(client, user.email, "guess"))

    response = sign_in(client, user.email, DEFAULT_PASSWORD)

    assert RATE_LIMITED in text(response)
    assert "_auth_user_id" not in client.session


def test_sign_out_ends_the_session(client):
    user = UserFactory()
    client.force_login(user)

    response = client.post(reverse("account_logout"))

    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get(reverse("credits:dashboard")).status_code == 302
