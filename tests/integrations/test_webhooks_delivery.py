"""Signed webhooks to a real receiver in the test process: Standard Webhooks' own library
verifies them (through a secret rotation too); retries follow the schedule with the clock
moved; 410 disables at once, a redirect is a failure, 5 days of failures disable and tell the
owner; an app hears only of its own charges and of users who consented to it."""

import json
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from credits import services
from credits.actors import Actor
from events.dispatch import dispatch_pending
from events.models import Event
from integrations.errors import InvalidWebhook
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.services import apps, consents, webhook_deliveries, webhooks
from integrations.services.webhook_deliveries import RETRY_SCHEDULE, attempt_task, deliver_due
from tests.credits.conftest import ACTOR, fund, key
from tests.factories import StaffFactory, UserFactory
from tests.integrations.webhook_receiver import app_with_endpoint, reader_of

ATTEMPT = "integrations.services.webhook_deliveries.attempt_task"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.enable_socket,
    pytest.mark.usefixtures("ledger_reconciles"),
]


def spend_as(app, user, amount=10):
    actor = Actor.for_app(app.pk, app.name, user_id=user.pk)
    return services.spend(wallet=user.wallet, amount=amount, actor=actor, idempotency_key=key())


def funded(user, amount=1_000):
    fund(user.wallet, amount)
    return user


def test_a_charge_reaches_the_apps_endpoint_signed_and_standard_webhooks_verifies_it(
    receiver, django_capture_on_commit_callbacks
):
    receiver.status = 200
    app, endpoint, secret = app_with_endpoint(receiver.url)
    user = funded(reader_of(app))
    with django_capture_on_commit_callbacks(execute=True):
        spend_as(app, user, 30)

    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    payload = Webhook(secret).verify(got.body, got.headers)
    event = Event.objects.get(type="credits.spent")
    assert payload["id"] == got.headers["webhook-id"] == event.webhook_id
    assert payload["type"] == "credits.spent"
    assert payload["data"]["amount"] == 30
    assert payload["data"]["app_id"] == app.pk
    assert got.headers["Content-Type"] == "application/json"
    assert got.headers["User-Agent"] == "CreditDesk-Webhooks"
    assert got.body == json.dumps(json.loads(got.body), separators=(",", ":")).encode()
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    attempt = delivery.attempt_log.get()
    assert attempt.status_code == 200
    assert attempt.response_excerpt == "ok"


def test_during_a_rotation_both_secrets_verify_and_after_24_hours_only_the_new_one(
    receiver, django_capture_on_commit_callbacks
):
    app, endpoint, old_secret = app_with_endpoint(receiver.url)
    user = funded(reader_of(app))
    new_secret = webhooks.rotate_secret(endpoint=endpoint).secret
    assert new_secret.startswith("whsec_")
    assert new_secret != old_secret

    with django_capture_on_commit_callbacks(execute=True):
        spend_as(app, user)
    during = receiver.requests[-1]
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    Webhook(old_secret).verify(during.body, during.headers)
    Webhook(new_secret).verify(during.body, during.headers)

    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            spend_as(app, user)
        after = receiver.requests[-1]
        assert len(after.headers["webhook-signature"].split(" ")) == 1
        Webhook(new_secret).verify(after.body, after.headers)
        with pytest.raises(WebhookVerificationError):
            Webhook(old_secret).verify(after.body, after.headers)
    assert len(receiver.requests) == 2


def test_failures_are_retried_on_the_schedule_with_jitter_then_abandoned(
    receiver, django_capture_on_commit_callbacks
):
    receiver.status = 500
    app, endpoint, _ = app_with_endpoint(receiver.url)
    user = funded(reader_of(app))
    with django_capture_on_commit_callbacks(execute=True):
        spend_as(app, user)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)

    for attempt, wait in enumerate(RETRY_SCHEDULE, start=1):
        delivery.refresh_from_db()
        last = delivery.attempt_log.first().at
        assert (delivery.status, delivery.attempts) == ("failed", attempt)
        assert wait * 0.9 <= delivery.next_attempt_at - last <= wait * 1.1
        with time_machine.travel(delivery.next_attempt_at - timedelta(seconds=1), tick=False):
            assert deliver_due() == 0  # not due yet
        with (
            time_machine.travel(delivery.next_attempt_at, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            assert deliver_due() == 1

    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("abandoned", 8, None)
    assert len(receiver.requests) == 8
    assert delivery.last_status_code == 500


def test_events_prune_keeps_an_event_whose_delivery_is_still_retrying(
    receiver, django_capture_on_commit_callbacks
):
    receiver.status = 500
    app, endpoint, _ = app_with_endpoint(receiver.url)
    user = funded(reader_of(app))
    hundred_days_ago = timezone.now() - timedelta(days=100)
    with (
        time_machine.travel(hundred_days_ago, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        spend_as(app, user)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)

    call_command("events_prune", "--older-than", "90d", stdout=StringIO())
    assert WebhookDelivery.objects.filter(pk=delivery.pk, status="failed").exists()

    receiver.status = 204
    with django_capture_on_commit_callbacks(execute=True):
        assert deliver_due() == 1
    call_command("events_prune", "--older-than", "90d", stdout=StringIO())
    assert not Event.objects.filter(type="credits.spent").exists()
    assert not WebhookDelivery.objects.exists()


def test_with_a_real_queue_the_sweep_queues_due_attempts_instead_of_making_them(receiver, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    app, endpoint, _ = app_with_endpoint(receiver.url)
    user = funded(reader_of(app))
    spend_as(app, user)
    dispatch_pending()  # the delivery is made; its task never reaches the queue (a crash)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)

    assert deliver_due() == 1
    assert receiver.requests == []  # the sweep waited on no endpoint
    [queued] = DBTaskResult.objects.filter(task_path=ATTEMPT)
    assert queued.args_kwargs["args"] == [delivery.pk]

    attempt_task.call(delivery.pk)  # what a worker runs
    attempt_task.call(delivery.pk)  # a second sweep's duplicate finds nothing due
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_a_410_disables_the_endpoint_at_once_and_no_more_events_are_written(
    receiver, django_capture_on_commit_callbacks
):
    receiver.status = 410
    app, endpoint, _ = app_with_endpoint(receiver.url)
    user = funded(reader_of(app))
    with django_capture_on_commit_callbacks(execute=True):
        spend_as(app, user)

    endpoint.refresh_from_db()
    assert endpoint.status == "disabled"
    assert "410" in endpoint.disabled_reason
    assert WebhookDelivery.objects.get().status == "abandoned"
    assert [message.to for message in mail.outbox] == [[app.user.email]]
    written = Event.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        spend_as(app, user)
    assert Event.objects.count() == written
    assert len(receiver.requests) == 1


def test_a_redirect_is_not_followed_and_counts_as_a_failure(
    receiver, django_capture_on_commit_callbacks
):
    receiver.status = 302
    receiver.location = receiver.url + "/elsewhere"
    app, _endpoint, _ = app_with_endpoint(receiver.url)
    user = funded(reader_of(app))
    with django_capture_on_commit_callbacks(execute=True):
        spend_as(app, user)

    assert [request.path for request in receiver.requests] == ["/hooks"]
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.last_status_code) == ("failed", 302)


def test_an_endpoint_failing_for_5_days_is_disabled_and_its_owner_told(
    receiver, django_capture_on_commit_callbacks
):
    receiver.status = 503
    app, endpoint, _ = app_with_endpoint(receiver.url)
    user = funded(reader_of(app))
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        spend_as(app, user)
    with (
        time_machine.travel(start + timedelta(days=4), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        spend_as(app, user)
    endpoint.refresh_from_db()
    assert endpoint.status == "enabled"
    assert mail.outbox == []

    with (
        time_machine.travel(start + timedelta(days=5, seconds=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        spend_as(app, user)
    endpoint.refresh_from_db()
    assert endpoint.status == "disabled"
    assert "5 days" in endpoint.disabled_reason
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [app.user.email]
    body = mail.outbox[0].body
    assert "The reason: Every delivery failed for 5 days." in body
    assert reverse("developers:webhook", args=[app.pk, endpoint.pk]) in body


def test_a_success_in_between_restarts_the_5_days(receiver, django_capture_on_commit_callbacks):
    receiver.status = 503
    app, endpoint, _ = app_with_endpoint(receiver.url)
    user = funded(reader_of(app))
    start = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        spend_as(app, user)
    receiver.status = 200
    with (
        time_machine.travel(start + timedelta(days=3), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        spend_as(app, user)
    receiver.status = 503
    with (
        time_machine.travel(start + timedelta(days=5, seconds=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        spend_as(app, user)
    endpoint.refresh_from_db()
    assert endpoint.status == "enabled"


# --- who receives what ---------------------------------------------------------------------------


def test_no_event_is_written_when_no_endpoint_subscribes(django_capture_on_commit_callbacks):
    user = funded(UserFactory())
    services.spend(wallet=user.wallet, amount=5, actor=ACTOR, idempotency_key=key())
    assert Event.objects.count() == 0


def test_an_app_never_receives_another_apps_charges(receiver, django_capture_on_commit_callbacks):
    translator, _endpoint, _ = app_with_endpoint(receiver.url, name="Translator")
    printer, _, _ = app_with_endpoint(
        receiver.url + "/printer", types=["hold.placed"], name="Printer"
    )
    user = funded(reader_of(translator))
    consents.give(app=printer, user=user, scope_names="credits:read credits:spend", cap=500)

    with django_capture_on_commit_callbacks(execute=True):
        spend_as(printer, user)
    assert Event.objects.filter(type="credits.spent").count() == 0
    assert receiver.requests == []

    with django_capture_on_commit_callbacks(execute=True):
        spend_as(translator, user)
    assert [json.loads(r.body)["data"]["app_id"] for r in receiver.requests] == [translator.pk]


def test_what_no_app_did_reaches_only_apps_the_user_lets_read_credits(
    receiver, django_capture_on_commit_callbacks
):
    reader, _, secret = app_with_endpoint(receiver.url, types=["credits.granted"], name="Reader")
    _stranger, _, _ = app_with_endpoint(
        receiver.url + "/stranger", types=["credits.granted"], name="Stranger"
    )
    signer, _, _ = app_with_endpoint(
        receiver.url + "/signer", types=["credits.granted"], name="Signer"
    )
    user = reader_of(reader)
    consents.give(app=signer, user=user, scope_names="openid", cap=10)
    nobody = UserFactory()

    with django_capture_on_commit_callbacks(execute=True):
        fund(user.wallet, 100)
        fund(nobody.wallet, 100)
    assert [r.path for r in receiver.requests] == ["/hooks"]
    payload = Webhook(secret).verify(receiver.requests[0].body, receiver.requests[0].headers)
    assert payload["data"]["user_id"] == user.pk
    assert Event.objects.filter(user=nobody).count() == 0


def test_after_revoking_consent_the_app_hears_nothing_more_of_the_user(
    receiver, django_capture_on_commit_callbacks
):
    app, _, _ = app_with_endpoint(receiver.url, types=["credits.granted"])
    user = reader_of(app)
    with django_capture_on_commit_callbacks(execute=True):
        fund(user.wallet, 100)
    consents.revoke(consent=consents.live_consent(app=app, user=user))
    with django_capture_on_commit_callbacks(execute=True):
        fund(user.wallet, 100)
    assert len(receiver.requests) == 1


def test_a_consent_revoked_between_writing_and_dispatch_stops_the_delivery(
    receiver, django_capture_on_commit_callbacks
):
    app, _, _ = app_with_endpoint(receiver.url, types=["credits.granted"])
    user = reader_of(app)
    fund(user.wallet, 100)  # written, not yet dispatched (no commit)
    consents.revoke(consent=consents.live_consent(app=app, user=user))
    from events.dispatch import dispatch_pending

    with django_capture_on_commit_callbacks(execute=True):
        dispatch_pending()
    assert Event.objects.get().dispatched_at is not None
    assert WebhookDelivery.objects.count() == 0
    assert receiver.requests == []


def test_resend_sends_the_same_event_again_and_resend_since_every_event_since(
    receiver, django_capture_on_commit_callbacks
):
    app, endpoint, secret = app_with_endpoint(receiver.url, types=["credits.granted"])
    user = reader_of(app)
    with django_capture_on_commit_callbacks(execute=True):
        fund(user.wallet, 100)
    later = timezone.now() + timedelta(seconds=1)
    with (
        time_machine.travel(later, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        fund(user.wallet, 50)
    first = Event.objects.order_by("id").first()

    with django_capture_on_commit_callbacks(execute=True):
        webhook_deliveries.resend(endpoint=endpoint, event=first)
    assert receiver.requests[-1].headers["webhook-id"] == first.webhook_id
    Webhook(secret).verify(receiver.requests[-1].body, receiver.requests[-1].headers)

    with (
        time_machine.travel(later + timedelta(seconds=1), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert webhook_deliveries.resend_since(endpoint=endpoint, since=later) == 1
    assert len(receiver.requests) == 4
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 4


def test_a_disabled_endpoints_subscriptions_stop_events_and_enabling_resumes_them(
    receiver, django_capture_on_commit_callbacks
):
    app, endpoint, _ = app_with_endpoint(receiver.url)
    user = funded(reader_of(app))
    webhooks.disable(endpoint=endpoint, reason="Paused by the owner.")
    spend_as(app, user)
    assert Event.objects.filter(type="credits.spent").count() == 0
    webhooks.enable(endpoint=endpoint)
    with django_capture_on_commit_callbacks(execute=True):
        spend_as(app, user)
    assert len(receiver.requests) == 1
    assert WebhookEndpoint.objects.get().status == "enabled"


@pytest.mark.parametrize(
    "people_only", ["purchase.paid", "wallet.status_changed", "dispute.opened", "job.updated"]
)
def test_an_endpoint_cannot_subscribe_to_events_that_are_for_people(receiver, people_only):
    _app, endpoint, _secret = app_with_endpoint(receiver.url)
    with pytest.raises(InvalidWebhook, match="for people"):
        webhooks.update(
            endpoint=endpoint,
            url=receiver.url,
            event_types=["credits.spent", people_only],
            description="",
        )
    assert list(endpoint.subscriptions.values_list("event_type", flat=True)) == ["credits.spent"]


def test_a_suspended_app_hears_nothing_more_not_a_retry_nor_a_resend(
    receiver, django_capture_on_commit_callbacks
):
    receiver.status = 500
    app, endpoint, _ = app_with_endpoint(receiver.url)
    user = funded(reader_of(app))
    with django_capture_on_commit_callbacks(execute=True):
        spend_as(app, user)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    apps.change_status(app=app, to="suspended", reason="Abuse.", by=StaffFactory())
    endpoint.refresh_from_db()

    receiver.status = 204
    with (
        time_machine.travel(delivery.next_attempt_at, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        deliver_due()
    with pytest.raises(InvalidWebhook, match="not approved"):
        webhook_deliveries.resend(endpoint=endpoint, event=delivery.event)
    with pytest.raises(InvalidWebhook, match="not approved"):
        webhook_deliveries.resend_since(endpoint=endpoint, since=delivery.created_at)

    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at) == ("abandoned", None)
    assert len(receiver.requests) == 1  # the first attempt, before the suspension


def test_a_consent_revoked_while_a_delivery_retries_stops_its_retries(
    receiver, django_capture_on_commit_callbacks
):
    receiver.status = 500
    app, endpoint, _ = app_with_endpoint(receiver.url, types=["credits.granted"])
    user = reader_of(app)
    with django_capture_on_commit_callbacks(execute=True):
        fund(user.wallet, 100)  # what no app did: the app hears of it through the consent
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    consents.revoke(consent=consents.live_consent(app=app, user=user))

    receiver.status = 204
    with (
        time_machine.travel(delivery.next_attempt_at, tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        deliver_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.next_attempt_at) == ("abandoned", None)
    assert len(receiver.requests) == 1  # the first attempt, while the user still consented


def test_resend_since_is_bounded_in_time_and_count_and_refuses_changing_nothing(
    receiver, monkeypatch, django_capture_on_commit_callbacks
):
    app, endpoint, _ = app_with_endpoint(receiver.url, types=["credits.granted"])
    user = reader_of(app)
    with django_capture_on_commit_callbacks(execute=True):
        for amount in (10, 20, 30):
            fund(user.wallet, amount)
    before = WebhookDelivery.objects.count()
    now = timezone.now()

    with pytest.raises(InvalidWebhook, match="last 14 days"):
        webhook_deliveries.resend_since(endpoint=endpoint, since=now - timedelta(days=15))
    monkeypatch.setattr(webhook_deliveries, "RESEND_SINCE_MOST", 2)
    with pytest.raises(InvalidWebhook, match="More than 2 events"):
        webhook_deliveries.resend_since(endpoint=endpoint, since=now - timedelta(hours=1))
    assert WebhookDelivery.objects.count() == before

    WebhookDelivery.objects.update(status="pending")  # two or more still waiting to go out
    with pytest.raises(InvalidWebhook, match="still waiting"):
        webhook_deliveries.resend_since(endpoint=endpoint, since=now - timedelta(minutes=1))
    assert WebhookDelivery.objects.count() == before
