"""Calls made at the same moment are each counted: the day's row is added to in the database
(one upsert), never read and written back, so no racing call is lost (PostgreSQL)."""

import pytest
from django.db import connection
from django.utils import timezone

from integrations.models import AppUsageDay, AppUserDay
from tests.integrations.partners import Partner, api_key, approved_app, consenting_user, oidc_key
from tests.threads import at_once

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="racing writers need PostgreSQL (DATABASE_URL); SQLite serialises them",
    ),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("oidc_key"),
]
assert oidc_key  # a fixture, used above

THREADS, CALLS = 8, 6


def test_racing_calls_are_all_counted_and_each_user_once():
    app = approved_app(rate_limit_per_minute=10_000)
    key = api_key(app, "usage:read")
    _, token = consenting_user(app, scopes="openid credits:read")

    def calls(index: int) -> list[int]:
        partner = Partner(key if index % 2 else token)
        path = "app/usage" if index % 2 else "wallet"
        return [partner.get(path).status_code for _ in range(CALLS)]

    answers = at_once(THREADS, calls)

    assert answers == [[200] * CALLS] * THREADS
    usage = AppUsageDay.objects.get(app=app, day=timezone.now().date())
    assert (usage.requests, usage.client_errors, usage.server_errors) == (THREADS * CALLS, 0, 0)
    assert AppUserDay.objects.filter(app=app).count() == 1
