"""Events in the admin: listed and filtered, read-only for everyone (superusers too), and
failed events dispatched again by staff who may change events."""

import pytest
from django.urls import reverse

from events.dispatch import register_channel, remove_channel
from events.models import Event
from events.outbox import announce
from tests.clients import sign_in_staff
from tests.factories import StaffFactory, UserFactory
from tests.pages import text

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:events_event_changelist"


@pytest.fixture
def staff_client(client):
    sign_in_staff(client, StaffFactory())
    return client


@pytest.fixture
def events(everyone_listens):
    """Three events: one waiting, one dispatched, one a channel failed on."""
    alice, bob = UserFactory(email="alice@example.com"), UserFactory(email="bob@example.com")
    announce("purchase.paid", data={"purchase_id": 1}, user_id=alice.pk, app_id=7)
    announce("balance.low", data={"threshold": 10}, user_id=bob.pk)
    announce("credits.expiring", data={"grant_id": 3}, user_id=alice.pk)
    waiting, dispatched, failed = Event.objects.order_by("id")
    Event.objects.filter(pk=dispatched.pk).update(dispatched_at=dispatched.occurred_at)
    Event.objects.filter(pk=failed.pk).update(dispatch_error="ValueError: no")
    return waiting, dispatched, failed


def listed(client, **query) -> list[int]:
    response = client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    return [event.pk for event in response.context["cl"].result_list]


def test_staff_filter_events_by_state_type_app_and_user(staff_client, events):
    waiting, dispatched, failed = events

    assert listed(staff_client, state="waiting") == [waiting.pk]
    assert listed(staff_client, state="dispatched") == [dispatched.pk]
    assert listed(staff_client, state="failed") == [failed.pk]
    assert listed(staff_client, type="balance.low") == [dispatched.pk]
    assert listed(staff_client, app_id="7") == [waiting.pk]
    assert listed(staff_client, q="alice@") == [failed.pk, waiting.pk]


def test_an_event_s_page_shows_its_body_and_offers_no_change_or_delete(staff_client, events):
    waiting, _, failed = events
    page = staff_client.get(reverse("admin:events_event_change", args=[failed.pk]))

    assert page.status_code == 200
    assert failed.webhook_id in text(page)
    assert "ValueError: no" in text(page)
    assert '"type": "credits.expiring"' in text(page)  # the body, as listeners receive it
    assert "Save" not in text(page)
    delete = staff_client.post(reverse("admin:events_event_delete", args=[failed.pk]))
    assert delete.status_code == 403
    assert staff_client.get(reverse("admin:events_event_add")).status_code == 403
    bulk = staff_client.post(
        reverse(CHANGELIST),
        {"action": "delete_selected", "_selected_action": [waiting.pk]},
        follow=True,
    )
    assert "No action selected." in text(bulk)  # delete_selected is not offered
    assert Event.objects.count() == 3


def test_dispatch_again_clears_the_error_and_dispatches_failed_events_only(
    staff_client, events, django_capture_on_commit_callbacks
):
    waiting, dispatched, failed = events
    seen = []
    register_channel("tests: admin", lambda event: seen.append(event.pk))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = staff_client.post(
                reverse(CHANGELIST),
                {"action": "dispatch_again", "_selected_action": [failed.pk, dispatched.pk]},
                follow=True,
            )
    finally:
        remove_channel("tests: admin")

    assert "1 event will be dispatched again." in text(response)
    failed.refresh_from_db()
    assert (failed.dispatch_error, failed.dispatched_at is not None) == ("", True)
    # The kick dispatches whatever waits: the waiting event too, the dispatched one not again.
    assert sorted(seen) == sorted([failed.pk, waiting.pk])


def test_staff_who_may_only_view_events_get_no_dispatch_action(client, events):
    sign_in_staff(client, StaffFactory(is_superuser=False, permissions=["events.view_event"]))
    _, _, failed = events

    response = client.get(reverse(CHANGELIST))
    refused = client.post(
        reverse(CHANGELIST), {"action": "dispatch_again", "_selected_action": [failed.pk]}
    )

    assert response.status_code == 200
    assert "dispatch_again" not in response.content.decode()
    assert refused.status_code == 200
    failed.refresh_from_db()
    assert failed.dispatch_error == "ValueError: no"
