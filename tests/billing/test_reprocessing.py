"""A failed delivery is processed again later by dj-stripe's command, with no double effect."""

import pytest
from django.core.management import call_command
from djstripe.models import WebhookEventTrigger

from billing.models import Purchase
from billing.testing import event
from credits.reconciliation import reconcile
from tests.billing.conftest import make_pack, pending_purchase, session_object
from tests.credits.conftest import state

pytestmark = pytest.mark.django_db


def process_failed_events(capsys) -> str:
    call_command("djstripe_process_events", "--failed")
    return capsys.readouterr().out  # the command prints rather than writing to its stdout


def test_a_failed_delivery_is_processed_again_by_the_command_once(webhooks, buyer, capsys):
    purchase = pending_purchase(buyer, make_pack())
    completed = event("checkout.session.completed", session_object(purchase))
    webhooks.fake.fail_next = "/v1/checkout/sessions"  # Stripe fails while dj-stripe syncs

    failed = webhooks.post(completed)

    assert failed.status_code == 500
    assert WebhookEventTrigger.objects.get().exception
    assert (Purchase.objects.get(pk=purchase.pk).status, state(buyer.wallet)[0]) == ("pending", 0)

    webhooks.fake.add(completed)  # Stripe lists it among the events whose delivery failed
    first = process_failed_events(capsys)
    again = process_failed_events(capsys)

    assert "Processed 1 out of 1 Events" in first
    assert "Processed 1 out of 1 Events" in again  # listed again, but it grants nothing more
    assert Purchase.objects.get(pk=purchase.pk).status == "paid"
    assert state(buyer.wallet)[0] == 1000
    assert reconcile().problems == []
