"""Every partner call is counted once in the app's usage for the day (requests, and its class
when it failed), and its users are counted once a day; each app's users and each of its keys
may make the app's rate of calls a minute, told in RateLimit headers, then 429 with
Retry-After."""

import logging
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import DatabaseError
from django.utils import timezone

from integrations.models import AppUsageDay, AppUserDay, PartnerApp
from tests.clients import Api
from tests.credits.conftest import fund
from tests.integrations.partners import Partner, api_key, approved_app, consenting_user, oidc_key

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("oidc_key")]
assert oidc_key  # a fixture, used above

# The start of a minute, so a test's calls all fall in one rate window.
MINUTE = datetime(2026, 6, 1, 12, 0, 5, tzinfo=UTC)


def figures(app, day=None):
    row = AppUsageDay.objects.get(app=app, day=day or timezone.now().date())
    return row.requests, row.client_errors, row.server_errors, row.rate_limited


@time_machine.travel(MINUTE, tick=False)
def test_each_call_counts_once_with_its_errors_by_class():
    app = approved_app(rate_limit_per_minute=6)
    key = Partner(api_key(app, "usage:read"))
    _, token = consenting_user(app, scopes="openid credits:read")

    statuses = [
        key.get("app/usage").status_code,
        key.get("app/usage", to="soon").status_code,  # 400
        key.get("app/consents").status_code,  # 403: the key may not read consents
        Partner(token).get("wallet").status_code,
        Partner(token).get("transactions/999999").status_code,  # 404
    ]

    assert statuses == [200, 400, 403, 200, 404]
    assert figures(app) == (5, 3, 0, 0)
    assert key.get("app/usage").json()["days"][-1]["requests"] == 5  # counted after answering


@time_machine.travel(MINUTE, tick=False)
def test_calls_past_the_limit_are_counted_as_rate_limited():
    app = approved_app(rate_limit_per_minute=2)
    key = Partner(api_key(app, "usage:read"))

    statuses = [key.get("app/usage").status_code for _ in range(4)]

    assert statuses == [200, 200, 429, 429]
    assert figures(app) == (4, 2, 0, 2)


@time_machine.travel(MINUTE, tick=False)
def test_a_call_that_is_not_a_partners_is_not_counted():
    app = approved_app()
    user, _ = consenting_user(app)

    assert Api(user).get("wallet").status_code == 200
    assert Partner("cdk_test_0123456789ab_" + "x" * 43).get("app/usage").status_code == 401

    assert not AppUsageDay.objects.exists()


def test_active_users_are_counted_once_a_day():
    app = approved_app()
    _, alice_token = consenting_user(app, scopes="openid credits:read")
    _, bob_token = consenting_user(app, scopes="openid credits:read")
    key = Partner(api_key(app, "usage:read"))
    today = timezone.now()

    with time_machine.travel(today - timedelta(days=1)):
        Partner(alice_token).get("wallet")
    for token in (alice_token, alice_token, bob_token, alice_token):
        assert Partner(token).get("wallet").status_code == 200
    key.get("app/usage")  # a key's call is no user's

    days = key.get("app/usage").json()["days"]
    assert [day["active_users"] for day in days[-2:]] == [1, 2]
    assert [day["requests"] for day in days[-2:]] == [1, 5]
    assert AppUserDay.objects.filter(app=app).count() == 3


@time_machine.travel(MINUTE, tick=False)
def test_every_partner_answer_carries_the_rate_limit_headers(settings):
    settings.INTEGRATIONS_DEFAULT_RATE_PER_MINUTE = 50
    app = approved_app()
    key = Partner(api_key(app, "usage:read"))

    first, refused, second = key.get("app/usage"), key.get("app/consents"), key.get("app/usage")

    for answer, remaining in ((first, 49), (refused, 48), (second, 47)):
        assert answer["RateLimit-Limit"] == "50"
        assert answer["RateLimit-Remaining"] == str(remaining)
        assert answer["RateLimit-Reset"] == "55"  # seconds to the next minute
    assert "RateLimit-Limit" not in Api(app.user).get("wallet")


def test_past_the_limit_a_key_gets_429_with_retry_after_until_the_next_minute():
    app = approved_app(rate_limit_per_minute=3)
    key = Partner(api_key(app, "usage:read"))

    with time_machine.travel(MINUTE, tick=False):
        answers = [key.get("app/usage") for _ in range(4)]
    with time_machine.travel(MINUTE + timedelta(seconds=56), tick=False):
        again = key.get("app/usage")

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    throttled = answers[-1]
    assert throttled.json()["type"] == "client_error"
    assert throttled.json()["errors"][0]["code"] == "throttled"
    assert "3 requests a minute" in throttled.json()["errors"][0]["detail"]
    assert throttled["Retry-After"] == "55"
    assert (throttled["RateLimit-Limit"], throttled["RateLimit-Remaining"]) == ("3", "0")
    assert again.status_code == 200
    assert again["RateLimit-Remaining"] == "2"


@time_machine.travel(MINUTE, tick=False)
def test_each_key_and_the_apps_users_have_their_own_window():
    app = approved_app(rate_limit_per_minute=2)
    first, second = Partner(api_key(app, "usage:read")), Partner(api_key(app, "usage:read"))
    _, token = consenting_user(app, scopes="openid credits:read")
    other_app_key = Partner(api_key(approved_app(rate_limit_per_minute=2), "usage:read"))

    assert [first.get("app/usage").status_code for _ in range(3)] == [200, 200, 429]
    assert [second.get("app/usage").status_code for _ in range(3)] == [200, 200, 429]
    assert [Partner(token).get("wallet").status_code for _ in range(3)] == [200, 200, 429]
    assert other_app_key.get("app/usage").status_code == 200


@time_machine.travel(MINUTE, tick=False)
def test_a_partner_is_limited_by_its_apps_rate_not_the_users_own(settings):
    """An app's calls for a user count against the app's limit (its headers say so), not the
    user's API_THROTTLE_USER_RATE, which stays whole for the user's own scripts."""
    settings.API_THROTTLE_USER_RATE = "2/minute"
    app = approved_app(rate_limit_per_minute=5)
    user, token = consenting_user(app, scopes="openid credits:read")
    fund(user.wallet, 10)

    by_app = [Partner(token).get("wallet").status_code for _ in range(5)]
    own = [Api(user).get("wallet").status_code for _ in range(3)]

    assert by_app == [200] * 5
    assert own == [200, 200, 429]


@time_machine.travel(MINUTE, tick=False)
def test_a_suspended_apps_calls_are_counted_and_refused(settings):
    from tests.integrations.partners import set_status

    app = approved_app()
    key = Partner(api_key(app, "usage:read"))
    set_status(app, "suspended")

    refused = key.get("app/usage")

    assert refused.status_code == 403
    assert refused["RateLimit-Remaining"]
    assert figures(app) == (1, 1, 0, 0)


@time_machine.travel(MINUTE, tick=False)
def test_a_counting_failure_never_fails_the_call(monkeypatch, caplog):
    from integrations import middleware

    def broken(**counted):
        raise DatabaseError("the usage table is locked")

    monkeypatch.setattr(middleware.usage, "count_call", broken)
    key = Partner(api_key(approved_app(), "usage:read"))

    with caplog.at_level(logging.ERROR, logger="integrations.middleware"):
        answer = key.get("app/usage")

    assert answer.status_code == 200
    assert "Could not count a call of partner app" in caplog.text


def test_the_benchmark_prints_its_figures_and_leaves_no_rows():
    out = StringIO()

    call_command("integrations_bench", iterations=5, stdout=out)

    printed = out.getvalue()
    assert "API key, keys.authenticate: median" in printed
    assert "OAuth token, PartnerTokenAuthentication (with its rate-limit count): median" in printed
    assert "with a partner's OAuth token:" in printed
    assert "API key call: 1 for authentication, 1 for usage counting" in printed
    assert not PartnerApp.objects.exists()
    assert not AppUsageDay.objects.exists()
