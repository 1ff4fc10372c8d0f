"""Only an approved app's endpoints receive anything (docs/partners.md): its owner's resend
and resend-since are refused once staff suspended or revoked it, and a retry due after that
is abandoned, not sent."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from integrations.errors import InvalidWebhook
from integrations.models import PartnerApp, WebhookDelivery
from integrations.services import webhook_deliveries
from integrations.services.webhook_deliveries import deliver_due
from tests.credits.conftest import fund
from tests.integrations.partners import set_status
from tests.integrations.webhook_receiver import app_with_endpoint, reader_of

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.enable_socket,
    pytest.mark.usefixtures("ledger_reconciles"),
]


def granted_event(receiver, capture):
    app, endpoint, _ = app_with_endpoint(receiver.url, types=["credits.granted"])
    user = reader_of(app)
    with capture(execute=True):
        fund(user.wallet, 100)
    assert len(receiver.requests) == 1
    return app, endpoint, user


@pytest.mark.parametrize("status", [PartnerApp.Status.SUSPENDED, PartnerApp.Status.REVOKED])
def test_an_app_not_approved_gets_no_resend(receiver, django_capture_on_commit_callbacks, status):
    app, endpoint, _ = granted_event(receiver, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    set_status(app, status)
    endpoint.refresh_from_db()

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidWebhook):
        webhook_deliveries.resend(endpoint=endpoint, event=delivery.event)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidWebhook):
        webhook_deliveries.resend_since(endpoint=endpoint, since=timezone.now() - timedelta(days=1))
    assert len(receiver.requests) == 1


def test_a_retry_after_the_app_was_suspended_is_not_sent(
    receiver, django_capture_on_commit_callbacks
):
    receiver.status = 500
    app, _, _ = granted_event(receiver, django_capture_on_commit_callbacks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "failed"
    set_status(app, PartnerApp.Status.SUSPENDED)

    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1), tick=False):
        deliver_due()
    assert len(receiver.requests) == 1
