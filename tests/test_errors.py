"""What people and programs see when the server fails."""

import pytest
from django.test import Client

from tests.factories import UserFactory
from tests.pages import accessibility_problems, page, text

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.failing_urls")]


def test_a_failing_page_shows_the_custom_500():
    response = Client(raise_request_exception=False).get("/boom/")

    assert response.status_code == 500
    assert "Something went wrong" in text(response)
    assert accessibility_problems(response) == []


def test_a_failing_api_call_answers_in_the_error_shape():
    response = Client(raise_request_exception=False).get("/api/boom/")

    assert response.status_code == 500
    assert response.json() == {
        "type": "server_error",
        "errors": [{"code": "error", "detail": "A server error occurred.", "attr": None}],
    }


@pytest.mark.parametrize(
    ("address", "status", "heading"),
    [
        ("/denied/", 403, "You may not open this page"),
        ("/no-such-page/", 404, "Page not found"),
        # A bad id in one of our views (Http404 raised by the view, not an unknown address).
        ("/disputes/999999/", 404, "Page not found"),
        ("/billing/promo/redeem/", 405, "This address is not a page"),
        ("/boom/", 500, "Something went wrong"),
    ],
)
def test_each_error_has_the_sites_own_page_in_the_base_layout(address, status, heading):
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory())

    response = client.get(address)

    assert response.status_code == status
    assert page(response).find("h1").get_text(strip=True) == heading
    assert page(response).find("main", id="main") is not None
    assert accessibility_problems(response) == []


def test_a_post_only_address_keeps_its_allow_header():
    client = Client()
    client.force_login(UserFactory())

    response = client.get("/billing/promo/redeem/")

    assert response["Allow"] == "POST"
    assert "this address takes POST" in text(response)
