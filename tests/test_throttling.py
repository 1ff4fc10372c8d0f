"""The API limits each caller's rate (429 with Retry-After, in the error shape): per signed-in
user whatever credential they use, and per address for anonymous calls."""

import pytest
from django.test import Client

from tests.clients import Api
from tests.factories import UserFactory
from tests.processes import manage

pytestmark = pytest.mark.django_db


def test_a_caller_past_their_rate_is_answered_429_with_retry_after(settings):
    settings.API_THROTTLE_USER_RATE = "3/minute"
    api = Api(UserFactory())

    answers = [api.get("wallet") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    throttled = answers[-1]
    assert throttled.json()["type"] == "client_error"
    assert throttled.json()["errors"][0]["code"] == "throttled"
    assert 1 <= int(throttled["Retry-After"]) <= 60


def test_the_rate_is_per_user_whatever_the_credential(settings):
    settings.API_THROTTLE_USER_RATE = "2/minute"
    user = UserFactory()
    by_token = Api(user)
    by_session = Client()
    by_session.force_login(user)

    assert by_token.get("wallet").status_code == 200
    assert by_session.get("/api/v1/wallet").status_code == 200
    assert by_token.get("wallet").status_code == 429
    assert Api(UserFactory()).get("wallet").status_code == 200  # another user is not held back


def test_anonymous_calls_are_limited_by_address_which_a_forwarded_header_cannot_change(settings):
    settings.API_THROTTLE_ANON_RATE = "2/minute"
    client = Client(REMOTE_ADDR="203.0.113.7")

    answers = [client.get("/api/v1/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}") for n in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 429]
    assert answers[-1]["Retry-After"]
    assert Client(REMOTE_ADDR="203.0.113.8").get("/api/v1/").status_code == 200


@pytest.mark.parametrize("value", ["600", "600/fortnight", "0/minute", "ten/minute"])
def test_a_bad_rate_setting_is_named_in_one_line(value):
    result = manage("check", DEBUG="true", API_THROTTLE_USER_RATE=value)

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "CreditDesk cannot start: API_THROTTLE_USER_RATE must be a rate such as 600/minute: a "
        f"whole number of at least 1, then /second, /minute, /hour or /day (got {value!r})"
    ]
