"""Sessions end a fixed time after signing in and after a spell without activity, sooner for
staff; pages then send the person to sign in with a message, the API answers 401."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.urls import reverse

from tests.clients import sign_in_staff
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from tests.pages import text

pytestmark = pytest.mark.django_db

SIGN_IN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DASHBOARD = "/dashboard/"


def at(moment, client, path=DASHBOARD, **extra):
    with time_machine.travel(moment, tick=False):
        return client.get(path, **extra)


def signed_in_user(client):
    with time_machine.travel(SIGN_IN, tick=False):
        user = UserFactory()
        response = client.post(
            reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD}
        )
        assert response.status_code == 302
    return user


def test_a_users_session_ends_after_two_idle_days_with_a_message(client):
    signed_in_user(client)
    assert at(SIGN_IN + timedelta(days=1, hours=23), client).status_code == 200

    # Two idle days after the last request (its mark may be up to a minute behind it).
    response = at(SIGN_IN + timedelta(days=3, hours=23, minutes=1), client)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('account_login')}?next={DASHBOARD}"
    shown = text(at(SIGN_IN + timedelta(days=3, hours=23), client, response["Location"]))
    assert "You were signed out after 2 days without activity. Sign in again" in shown
    assert "_auth_user_id" not in client.session


def test_a_users_session_ends_fourteen_days_after_signing_in_however_active(client):
    signed_in_user(client)
    for day in range(1, 14):
        assert at(SIGN_IN + timedelta(days=day), client).status_code == 200

    response = at(SIGN_IN + timedelta(days=14), client)

    assert response.status_code == 302
    shown = text(at(SIGN_IN + timedelta(days=14), client, response["Location"]))
    assert "You were signed out 14 days after signing in." in shown


def test_a_staff_session_ends_after_thirty_idle_minutes_and_twelve_hours(client):
    staff = StaffFactory()
    with time_machine.travel(SIGN_IN, tick=False):
        sign_in_staff(client, staff)
    assert at(SIGN_IN + timedelta(minutes=29), client, "/admin/").status_code == 200
    assert at(SIGN_IN + timedelta(minutes=58), client, "/admin/").status_code == 200

    idle = at(SIGN_IN + timedelta(minutes=89), client, "/admin/")

    assert idle.status_code == 302
    assert "after 30 minutes without activity" in text(at(SIGN_IN, client, idle["Location"]))

    with time_machine.travel(SIGN_IN, tick=False):
        sign_in_staff(client, staff)
    for minutes in range(20, 12 * 60, 20):
        assert at(SIGN_IN + timedelta(minutes=minutes), client, "/admin/").status_code == 200
    assert at(SIGN_IN + timedelta(hours=12), client, "/admin/").status_code == 302


def test_the_api_answers_401_to_an_idle_session(client):
    signed_in_user(client)
    assert at(SIGN_IN + timedelta(hours=1), client, "/api/v1/me").status_code == 200

    response = at(SIGN_IN + timedelta(days=3), client, "/api/v1/me")

    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "not_authenticated"


def test_an_htmx_request_is_sent_to_sign_in_as_a_whole_page(client):
    signed_in_user(client)

    response = at(SIGN_IN + timedelta(days=3), client, HTTP_HX_REQUEST="true")

    assert response["HX-Redirect"] == f"{reverse('account_login')}?next={DASHBOARD}"


def test_the_limits_are_settings(client, settings):
    settings.SESSION_IDLE_MINUTES = 5
    signed_in_user(client)
    assert at(SIGN_IN + timedelta(minutes=4), client).status_code == 200

    response = at(SIGN_IN + timedelta(minutes=10), client)

    assert response.status_code == 302
    assert "after 5 minutes without activity" in text(at(SIGN_IN, client, response["Location"]))


def test_the_session_is_written_at_most_once_a_minute(client):
    signed_in_user(client)
    key = client.session.session_key

    def stored():
        return Session.objects.get(session_key=key).session_data

    at(SIGN_IN + timedelta(seconds=70), client)
    after_first = stored()
    at(SIGN_IN + timedelta(seconds=100), client)
    at(SIGN_IN + timedelta(seconds=129), client)
    assert stored() == after_first

    at(SIGN_IN + timedelta(seconds=131), client)
    assert stored() != after_first


def test_a_session_in_use_is_never_ended_as_idle(client, settings):
    """The last-seen mark is written once a minute: requests every 25 s with a one-minute idle
    limit keep the session (it was ended at about 75 s)."""
    settings.SESSION_IDLE_MINUTES = 1
    signed_in_user(client)

    answers = [at(SIGN_IN + timedelta(seconds=25 * n), client).status_code for n in range(1, 9)]
    idle = at(SIGN_IN + timedelta(seconds=25 * 8 + 121), client)

    assert answers == [200] * 8
    assert idle.status_code == 302
