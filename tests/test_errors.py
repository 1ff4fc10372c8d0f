"""What people and programs see when the server fails."""

import pytest
from django.test import Client

from tests.pages import accessibility_problems, text

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
