"""Webhook endpoints on the Developers pages and in the admin: added with the secret shown
once (https only), its page with the delivery log, rotation, disable/enable, delete, resend
one event or everything since a time; only the owner reaches them; forms act once. And the
demo receiver, which answers 204 only to a delivery signed with the demo endpoint's secret."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from credits import services
from credits.actors import Actor
from events.models import Event
from integrations.models import WebhookDelivery, WebhookEndpoint
from integrations.services import webhooks
from tests.clients import sign_in_staff
from tests.credits.conftest import fund, key
from tests.factories import StaffFactory, UserFactory
from tests.integrations.partners import approved_app
from tests.integrations.webhook_receiver import reader_of
from tests.pages import accessibility_problems, drawn_form, page, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]

ALREADY_DONE = "This operation was already done"


@pytest.fixture
def app(client):
    found = approved_app("Copy Helper")
    client.force_login(found.user)
    return found


def secrets_shown(response) -> list[str]:
    return [code.get_text(strip=True) for code in page(response).select("code.secret")]


def endpoint_of(app, url="https://hooks.example.com/cd", types=("credits.spent",)):
    return webhooks.create(app=app, url=url, event_types=types).endpoint


def test_adding_an_endpoint_shows_its_secret_once(client, app):
    url = drawn_form(client, reverse("developers:webhook-new", args=[app.pk]))
    form = client.get(url)
    assert accessibility_problems(form) == []
    assert "credits.spent" in text(form)

    response = client.post(
        url,
        {"url": "https://hooks.example.com/cd", "event_types": ["credits.spent", "hold.placed"]},
    )

    (secret,) = secrets_shown(response)
    endpoint = WebhookEndpoint.objects.get()
    assert secret == endpoint.secret
    assert secret.startswith("whsec_")
    assert endpoint.event_types() == ["credits.spent", "hold.placed"]
    again = client.post(url, {"url": "https://x.example.com/", "event_types": ["credits.spent"]})
    assert ALREADY_DONE in text(again)
    assert secret not in again.content.decode()
    assert WebhookEndpoint.objects.count() == 1
    detail = client.get(reverse("developers:webhook", args=[app.pk, endpoint.pk]))
    assert secret not in detail.content.decode()
    assert accessibility_problems(detail) == []
    assert "https://hooks.example.com/cd" in text(
        client.get(reverse("developers:app", args=[app.pk]))
    )


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"url": "http://hooks.example.com/", "event_types": ["credits.spent"]}, "https://"),
        ({"url": "https://hooks.example.com/", "event_types": []}, "This field is required"),
        ({"url": "https://hooks.example.com/", "event_types": ["nope.nope"]}, "valid choice"),
        ({"url": "not a url", "event_types": ["credits.spent"]}, "Enter a valid URL"),
    ],
)
def test_a_bad_endpoint_is_refused_beside_its_field(client, app, data, error):
    url = drawn_form(client, reverse("developers:webhook-new", args=[app.pk]))
    response = client.post(url, data)
    assert error in text(response)
    assert WebhookEndpoint.objects.count() == 0


def test_another_users_endpoint_is_not_found(client, app):
    other = endpoint_of(approved_app("Printer"))
    for name in ("developers:webhook", "developers:webhook-rotate", "developers:webhook-delete"):
        assert client.get(reverse(name, args=[other.app_id, other.pk])).status_code == 404
        assert client.get(reverse(name, args=[app.pk, other.pk])).status_code == 404


def test_rotating_shows_the_new_secret_once_and_keeps_the_old_signing_for_a_day(client, app):
    endpoint = endpoint_of(app)
    old = endpoint.secret
    url = drawn_form(client, reverse("developers:webhook-rotate", args=[app.pk, endpoint.pk]))

    response = client.post(url, {})

    (secret,) = secrets_shown(response)
    endpoint.refresh_from_db()
    assert (endpoint.secret, endpoint.previous_secret) == (secret, old)
    assert timedelta(hours=23) < endpoint.previous_secret_expires_at - timezone.now()
    assert ALREADY_DONE in text(client.post(url, {}))
    endpoint.refresh_from_db()
    assert endpoint.secret == secret


def test_disabling_enabling_and_deleting_on_the_page(client, app):
    endpoint = endpoint_of(app)
    url = drawn_form(client, reverse("developers:webhook-disable", args=[app.pk, endpoint.pk]))
    client.post(url, {})
    endpoint.refresh_from_db()
    assert endpoint.status == "disabled"
    assert not endpoint.subscriptions.filter(enabled=True).exists()
    assert not Event.objects.filter(type="webhook.endpoint_disabled").exists()  # they know

    url = drawn_form(client, reverse("developers:webhook-enable", args=[app.pk, endpoint.pk]))
    client.post(url, {})
    endpoint.refresh_from_db()
    assert endpoint.status == "enabled"

    url = drawn_form(client, reverse("developers:webhook-delete", args=[app.pk, endpoint.pk]))
    response = client.post(url, {})
    assert response.status_code == 302
    assert WebhookEndpoint.objects.count() == 0


def test_the_delivery_log_and_resending_one_event_or_everything_since(client, app, settings):
    settings.INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS = []
    endpoint = endpoint_of(app, url="https://10.0.0.1/hooks")
    user = reader_of(app)
    fund(user.wallet, 100)
    actor = Actor.for_app(app.pk, app.name, user_id=user.pk)
    from events.dispatch import dispatch_pending
    from integrations.services.webhook_deliveries import deliver_due

    services.spend(wallet=user.wallet, amount=5, actor=actor, idempotency_key=key())
    dispatch_pending()
    deliver_due()
    delivery = WebhookDelivery.objects.get()

    log = client.get(reverse("developers:webhook", args=[app.pk, endpoint.pk]))
    shown = text(log)
    assert delivery.event.webhook_id in shown
    assert "credits.spent" in shown
    assert "private address" in shown

    url = drawn_form(
        client, reverse("developers:webhook-resend", args=[app.pk, endpoint.pk, delivery.pk])
    )
    client.post(url, {})
    client.post(url, {})  # sent again: done once
    assert WebhookDelivery.objects.filter(event=delivery.event).count() == 2

    url = drawn_form(client, reverse("developers:webhook-resend-since", args=[app.pk, endpoint.pk]))
    since = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    resent = client.post(url, {"since": since}, follow=True)
    assert "1 event is being sent again." in text(resent)  # not "1 events are"
    assert WebhookDelivery.objects.count() == 3
    future = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    url = drawn_form(client, reverse("developers:webhook-resend-since", args=[app.pk, endpoint.pk]))
    assert "in the past" in text(client.post(url, {"since": future}))
    assert WebhookDelivery.objects.count() == 3


def test_staff_register_an_endpoint_for_any_app_and_list_deliveries(client):
    sign_in_staff(client, StaffFactory())
    app = approved_app("Printer")
    url = drawn_form(client, reverse("admin:integrations_webhookendpoint_add"))

    response = client.post(
        url, {"app": app.pk, "url": "https://p.example.com/h", "event_types": ["hold.placed"]}
    )

    (secret,) = secrets_shown(response)
    endpoint = WebhookEndpoint.objects.get(app=app)
    assert endpoint.secret == secret
    changelist = client.get(reverse("admin:integrations_webhookendpoint_changelist"))
    assert "https://p.example.com/h" in text(changelist)
    action = client.post(
        reverse("admin:integrations_webhookendpoint_changelist"),
        {"action": "disable_endpoints", "_selected_action": [endpoint.pk]},
    )
    assert action.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.status == "disabled"
    told = Event.objects.get(type="webhook.endpoint_disabled")  # the owner hears why
    assert (told.user_id, told.data["reason"]) == (app.user_id, "Disabled by CreditDesk staff.")
    deliveries = client.get(reverse("admin:integrations_webhookdelivery_changelist"))
    assert deliveries.status_code == 200


def test_the_demo_receiver_answers_204_only_to_a_delivery_signed_with_the_demo_secret(client):
    from integrations import demo

    developer = UserFactory(email=demo.DEVELOPER)
    app = approved_app(demo.NAME)
    app.user = developer
    app.save(update_fields=["user"])
    receiver_url = "https://demo.example.com" + reverse("developers:demo-webhook-receiver")
    secret = webhooks.create(app=app, url=receiver_url, event_types=["credits.spent"]).secret
    client.logout()
    body = b'{"id":"evt_1","type":"credits.spent"}'
    stamp = timezone.now()
    headers = Webhook(secret).sign("evt_1", stamp, body.decode())
    good = {
        "HTTP_WEBHOOK_ID": "evt_1",
        "HTTP_WEBHOOK_TIMESTAMP": str(int(stamp.timestamp())),
        "HTTP_WEBHOOK_SIGNATURE": headers,
    }
    url = reverse("developers:demo-webhook-receiver")
    assert client.post(url, body, content_type="application/json", **good).status_code == 204
    bad = {**good, "HTTP_WEBHOOK_ID": "evt_2"}
    assert client.post(url, body, content_type="application/json", **bad).status_code == 400
    assert client.get(url).status_code == 405


def test_the_delivery_log_is_kept_staff_cannot_delete_a_delivery(client):
    sign_in_staff(client, StaffFactory(is_superuser=True))
    app = approved_app("Printer")
    endpoint = webhooks.create(app=app, url="https://p.example.com/h", event_types=["hold.placed"])
    event = Event.objects.create(type="hold.placed", version=1, occurred_at=timezone.now())
    delivery = WebhookDelivery.objects.create(endpoint=endpoint.endpoint, event=event)

    page_of_it = client.get(
        reverse("admin:integrations_webhookdelivery_change", args=[delivery.pk])
    )
    deleting = client.post(
        reverse("admin:integrations_webhookdelivery_delete", args=[delivery.pk]), {"post": "yes"}
    )

    assert page_of_it.status_code == 200
    assert deleting.status_code == 403
    assert WebhookDelivery.objects.filter(pk=delivery.pk).exists()
