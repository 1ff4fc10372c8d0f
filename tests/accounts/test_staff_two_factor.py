"""Staff pages (the admin) need a session that passed two-factor: staff without an authenticator
app are sent to enrol, staff whose session did not use it are asked for a code, then sent back."""

from urllib.parse import parse_qs, urlparse

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from rest_framework.authentication import SessionAuthentication
from rest_framework.request import Request

from accounts.authentication import ApiTokenAuthentication
from accounts.models import ApiToken
from core.two_factor import passed_two_factor
from tests.clients import api_token, enrol_two_factor, sign_in_staff, this_totp_window, totp_code
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from tests.pages import page, text

pytestmark = pytest.mark.django_db

STAFF_PAGE = "/admin/disputes/dispute/?status__exact=open"


def sign_in(client, email, password=DEFAULT_PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def test_signing_in_with_password_and_authenticator_code_opens_the_staff_pages(client):
    staff = StaffFactory()
    secret = enrol_two_factor(staff)

    with time_machine.travel(this_totp_window(), tick=False):
        response = sign_in(client, staff.email)
        assert response["Location"] == reverse("mfa_authenticate")
        assert client.get(STAFF_PAGE).status_code == 302  # not signed in until the code

        response = client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})

    assert response.status_code == 302
    assert client.get(STAFF_PAGE).status_code == 200


def test_a_wrong_code_opens_nothing(client):
    staff = StaffFactory()
    enrol_two_factor(staff)
    sign_in(client, staff.email)

    response = client.post(reverse("mfa_authenticate"), {"code": "000000"})

    assert "Incorrect code." in text(response)
    assert client.get(STAFF_PAGE).status_code == 302


def test_staff_without_an_authenticator_are_sent_to_enrol_and_then_back(client):
    staff = StaffFactory()
    assert sign_in(client, staff.email)["Location"] == reverse("credits:dashboard")

    response = client.get(STAFF_PAGE)

    assert response["Location"] == reverse("mfa_activate_totp")
    # allauth asks for the password again before two-factor settings change.
    response = client.get(response["Location"])
    assert urlparse(response["Location"]).path == reverse("account_reauthenticate")
    response = client.post(response["Location"], {"password": DEFAULT_PASSWORD})
    assert response["Location"] == reverse("mfa_activate_totp")
    activation = client.get(reverse("mfa_activate_totp"))
    assert "Staff pages need two-factor authentication" in text(activation)
    secret = page(activation).find(id="authenticator_secret")["value"]

    with time_machine.travel(this_totp_window(), tick=False):
        response = client.post(reverse("mfa_activate_totp"), {"code": totp_code(secret)})
    codes_page = client.get(response["Location"])

    continue_link = page(codes_page).find("a", string="continue to the staff page you were opening")
    assert continue_link["href"] == STAFF_PAGE
    assert client.get(continue_link["href"]).status_code == 200
    assert Authenticator.objects.filter(user=staff, type="totp").exists()


def test_staff_whose_session_did_not_use_two_factor_are_asked_for_a_code_then_sent_back(client):
    staff = StaffFactory()
    secret = enrol_two_factor(staff)
    client.force_login(staff)  # e.g. enrolled in another browser after signing in here

    response = client.get(STAFF_PAGE)

    assert urlparse(response["Location"]).path == reverse("mfa_reauthenticate")
    assert parse_qs(urlparse(response["Location"]).query)["next"] == [STAFF_PAGE]
    assert "Enter a code from your authenticator app" in text(client.get(response["Location"]))
    with time_machine.travel(this_totp_window(), tick=False):
        response = client.post(response["Location"], {"code": totp_code(secret)})
    assert response["Location"] == STAFF_PAGE
    assert client.get(STAFF_PAGE).status_code == 200


def test_staff_who_removed_their_authenticator_are_sent_to_enrol_again(client):
    staff = StaffFactory()
    sign_in_staff(client, staff)
    Authenticator.objects.filter(user=staff).delete()

    assert client.get(STAFF_PAGE)["Location"] == reverse("mfa_activate_totp")


def test_without_two_factor_a_staff_member_still_reaches_account_pages_sign_out_and_static(
    client, settings
):
    settings.WHITENOISE_USE_FINDERS = True  # static files without a collectstatic run
    staff = StaffFactory()
    client.force_login(staff)

    for name in ["mfa_index", "account_email", "account_change_password", "accounts:profile"]:
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get("/static/css/creditdesk.css").status_code == 200
    assert client.get(reverse("credits:dashboard")).status_code == 200
    assert client.post(reverse("account_logout")).status_code == 302
    assert "_auth_user_id" not in client.session


def test_the_admins_own_sign_out_stays_open(client):
    client.force_login(StaffFactory())

    response = client.post(reverse("admin:logout"))

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_users_who_are_not_staff_are_not_asked_for_two_factor(client):
    user = UserFactory()
    sign_in(client, user.email)

    assert client.get(reverse("credits:dashboard")).status_code == 200
    assert client.get(reverse("admin:index"), follow=True).status_code == 403


def test_the_printed_demo_secret_opens_the_staff_pages(capsys):
    call_command("seed_demo", force=True)
    output = capsys.readouterr().out
    secret = next(
        line.split()[-1] for line in output.splitlines() if line.strip().startswith("TOTP secret")
    )
    assert "otpauth://totp/admin%40creditdesk.test?secret=" + secret in output
    client = Client()

    with time_machine.travel(this_totp_window(), tick=False):
        sign_in(client, "admin@creditdesk.test", "creditdesk-admin-demo")
        client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})

    assert client.get(reverse("admin:index")).status_code == 200


def test_a_token_call_never_counts_as_two_factor_even_beside_a_two_factor_session(client):
    """What the staff API's permission relies on: passed_two_factor is true for a session that
    used a second factor, never for a token, whatever cookie comes with it."""
    staff = StaffFactory()
    sign_in_staff(client, staff)
    token = api_token(staff)
    cookie = {"HTTP_COOKIE": f"sessionid={client.session.session_key}"}

    def drf_request(**headers):
        request = RequestFactory().get("/api/v1/me", **cookie, **headers)
        SessionMiddleware(lambda r: None).process_request(request)
        AuthenticationMiddleware(lambda r: None).process_request(request)
        return Request(request, authenticators=[ApiTokenAuthentication(), SessionAuthentication()])

    by_token = drf_request(HTTP_AUTHORIZATION=f"Token {token}")
    by_session = drf_request()

    assert (by_token.user, by_session.user) == (staff, staff)
    assert isinstance(by_token.auth, ApiToken)
    assert by_session.auth is None
    assert passed_two_factor(by_token) is False
    assert passed_two_factor(by_session) is True


@pytest.mark.parametrize("page_name", ["jobs:queue", "jobs:statistics"])
def test_staff_pages_outside_the_admin_need_two_factor_too(client, page_name):
    """The jobs work queue is a staff page (core.two_factor.staff_page); a client's page that
    staff also read (the statistics) is not."""
    staff = StaffFactory(is_superuser=False, permissions=["jobs.deliver"])
    client.force_login(staff)
    response = client.get(reverse(page_name))
    if page_name == "jobs:queue":
        assert response.status_code == 302
        assert response["Location"] == reverse("mfa_activate_totp")
        sign_in_staff(client, staff)
        assert client.get(reverse(page_name)).status_code == 200
    else:
        assert response.status_code == 200
