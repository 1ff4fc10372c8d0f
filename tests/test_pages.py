"""Every page answers with the right status, for visitors and for signed-in users, accessibly."""

import pytest
from django.urls import reverse

from tests.clients import sign_in_staff
from tests.factories import StaffFactory, UserFactory
from tests.pages import accessibility_problems, page, text

pytestmark = pytest.mark.django_db

PUBLIC_PAGES = [
    "home",
    "account_login",
    "account_signup",
    "account_reset_password",
    "billing:shop",
]
SIGNED_IN_PAGES = [
    "credits:dashboard",
    "billing:shop",
    "jobs:list",
    "jobs:create",
    "jobs:statistics",
    "disputes:list",
    "accounts:profile",
    "billing:purchases",
    "billing:subscription",
    "account_email",
    "account_change_password",
    "mfa_index",
]


@pytest.mark.parametrize("name", PUBLIC_PAGES)
def test_public_pages_render_for_visitors(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 200
    assert accessibility_problems(response) == []


@pytest.mark.parametrize("name", [n for n in SIGNED_IN_PAGES if n != "billing:shop"])
def test_private_pages_send_visitors_to_sign_in(client, name):
    response = client.get(reverse(name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("name", SIGNED_IN_PAGES)
def test_pages_render_for_signed_in_users(client, name):
    client.force_login(UserFactory())

    response = client.get(reverse(name))

    assert response.status_code == 200
    assert accessibility_problems(response) == []


def test_home_sends_signed_in_users_to_their_dashboard(client):
    client.force_login(UserFactory())

    response = client.get(reverse("home"))

    assert response.status_code == 302
    assert response["Location"] == reverse("credits:dashboard")


def test_home_explains_creditdesk_to_visitors(client):
    page_text = text(client.get(reverse("home")))

    assert "double-entry ledger" in page_text
    assert "Create an account" in page_text


def test_navigation_shows_the_admin_link_to_staff_only(client):
    client.force_login(UserFactory())
    assert reverse("admin:index") not in client.get(reverse("credits:dashboard")).content.decode()

    sign_in_staff(client, StaffFactory())
    response = client.get(reverse("credits:dashboard"))
    for label in ["Dashboard", "Buy credits", "Jobs", "Disputes", "Account", "Admin"]:
        assert label in text(response)


def test_staff_reach_the_admin_and_others_are_refused(client):
    sign_in_staff(client, StaffFactory())
    assert client.get(reverse("admin:index")).status_code == 200

    client.force_login(UserFactory())
    assert client.get(reverse("admin:index"), follow=True).status_code == 403


def test_the_admin_sign_in_goes_through_the_site_sign_in(client):
    response = client.get(reverse("admin:login"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_an_unknown_page_is_the_custom_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in text(response)
    assert accessibility_problems(response) == []


@pytest.mark.parametrize("name", ["accounts:profile", "account_email", "mfa_index"])
def test_account_pages_mark_account_as_the_current_section(client, name):
    client.force_login(UserFactory())

    current = page(client.get(reverse(name))).select('nav a[aria-current="page"]')

    assert [link.get_text() for link in current] == ["Account"]


def test_visitors_can_reach_the_shop_from_the_navigation(client):
    links = page(client.get(reverse("home"))).select("nav a")

    assert reverse("billing:shop") in [link["href"] for link in links]


def test_a_form_sent_without_its_csrf_token_gets_the_sites_page_under_the_policy():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(reverse("account_login"), {"login": "x"})

    assert response.status_code == 403
    assert "This form could not be sent" in text(response)
    assert "<style" not in response.content.decode()
