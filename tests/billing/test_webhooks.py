"""Stripe's signed webhooks, posted to dj-stripe's real view, move credits exactly once."""

import pytest
from djstripe.models import Event, WebhookEventTrigger

from billing.models import Purchase, Redemption, UnmatchedStripeEvent
from billing.testing import event
from credits.models import CreditGrant, CreditTransaction
from tests.billing.conftest import (
    make_pack,
    make_promotion,
    pending_purchase,
    session_object,
)

pytestmark = pytest.mark.django_db


def balance(user) -> int:
    user.wallet.refresh_from_db()
    return user.wallet.balance


def test_a_paid_checkout_grants_the_pack_once_with_its_cost_basis(webhooks, buyer):
    purchase = pending_purchase(buyer, make_pack())

    webhooks.send("checkout.session.completed", session_object(purchase))

    purchase.refresh_from_db()
    assert purchase.status == "paid"
    assert purchase.stripe_payment_intent_id == f"pi_for_{purchase.pk}"
    assert balance(buyer) == 1000
    grant = CreditGrant.objects.get(wallet=buyer.wallet)
    assert (grant.source, grant.is_promotional, str(grant.cost_basis)) == (
        "purchase",
        False,
        "0.01000000",
    )
    assert grant.transaction.reference_object == purchase


def test_the_same_event_delivered_again_grants_nothing_more(webhooks, buyer):
    purchase = pending_purchase(buyer, make_pack())
    payload = event("checkout.session.completed", session_object(purchase))
    webhooks.fake.add(payload["data"]["object"])

    assert webhooks.post(payload).status_code == 200
    assert webhooks.post(payload).status_code == 200

    assert balance(buyer) == 1000
    assert Event.objects.filter(id=payload["id"]).count() == 1


def test_the_same_session_under_a_new_event_id_grants_nothing_more(webhooks, buyer):
    purchase = pending_purchase(buyer, make_pack())
    session = session_object(purchase)

    webhooks.send("checkout.session.completed", session)
    webhooks.send("checkout.session.completed", session)
    webhooks.send("checkout.session.async_payment_succeeded", session)

    assert balance(buyer) == 1000
    assert CreditTransaction.objects.filter(kind="grant").count() == 1


def test_a_promo_bonus_is_a_separate_promotional_grant(webhooks, buyer):
    promotion = make_promotion(value=250, credit_lifetime_days=30)
    purchase = pending_purchase(buyer, make_pack(), bonus=250, promotion=promotion)

    webhooks.send("checkout.session.completed", session_object(purchase))

    grants = CreditGrant.objects.filter(wallet=buyer.wallet).order_by("id")
    assert [(g.amount, g.is_promotional, g.expires_at is None) for g in grants] == [
        (1000, False, True),
        (250, True, False),
    ]
    assert Redemption.objects.get(purchase=purchase).status == "used"
    assert balance(buyer) == 1250


def test_an_unpaid_delayed_checkout_waits_then_grants_when_the_payment_succeeds(webhooks, buyer):
    purchase = pending_purchase(buyer, make_pack())

    webhooks.send("checkout.session.completed", session_object(purchase, payment_status="unpaid"))
    assert balance(buyer) == 0

    webhooks.send("checkout.session.async_payment_succeeded", session_object(purchase))
    assert balance(buyer) == 1000


def test_a_failed_delayed_payment_grants_nothing_and_frees_the_promo_code(webhooks, buyer):
    promotion = make_promotion()
    purchase = pending_purchase(buyer, make_pack(), bonus=200, promotion=promotion)

    webhooks.send(
        "checkout.session.async_payment_failed", session_object(purchase, payment_status="unpaid")
    )

    purchase.refresh_from_db()
    assert purchase.status == "failed"
    assert Redemption.objects.get(purchase=purchase).status == "released"
    assert balance(buyer) == 0


def test_an_expired_checkout_is_marked_and_grants_nothing(webhooks, buyer):
    purchase = pending_purchase(buyer, make_pack())

    webhooks.send(
        "checkout.session.expired",
        session_object(purchase, status="expired", payment_status="unpaid"),
    )

    purchase.refresh_from_db()
    assert purchase.status == "expired"
    assert balance(buyer) == 0


def test_a_wrongly_signed_event_is_refused_and_records_only_the_invalid_trigger(webhooks, buyer):
    purchase = pending_purchase(buyer, make_pack())
    payload = event("checkout.session.completed", session_object(purchase))

    response = webhooks.post(payload, secret="whsec_not_ours")

    assert response.status_code == 400
    assert WebhookEventTrigger.objects.get().valid is False
    assert not Event.objects.exists()
    assert balance(buyer) == 0


def test_an_unsigned_event_is_refused(webhooks, buyer):
    purchase = pending_purchase(buyer, make_pack())

    response = webhooks.post(
        event("checkout.session.completed", session_object(purchase)), signed=False
    )

    assert response.status_code == 400
    assert balance(buyer) == 0


def test_an_event_for_an_unknown_endpoint_is_not_found(webhooks, buyer):
    purchase = pending_purchase(buyer, make_pack())
    url = webhooks.url(uuid="00000000-0000-0000-0000-000000000000")

    response = webhooks.post(event("checkout.session.completed", session_object(purchase)), url=url)

    assert response.status_code == 404
    assert balance(buyer) == 0


def test_an_event_for_an_unknown_customer_fails_and_grants_nothing(webhooks, buyer):
    purchase = pending_purchase(buyer, make_pack())
    session = session_object(purchase, customer="cus_nobody")
    webhooks.fake.add(session)

    response = webhooks.post(event("checkout.session.completed", session))

    assert response.status_code == 500
    trigger = WebhookEventTrigger.objects.get()
    assert trigger.exception
    assert balance(buyer) == 0
    assert Purchase.objects.get(pk=purchase.pk).status == "pending"


def test_a_session_naming_no_purchase_of_ours_is_kept_for_staff(webhooks, buyer):
    purchase = pending_purchase(buyer, make_pack())
    session = session_object(purchase, id="cs_unknown", metadata={})

    webhooks.send("checkout.session.completed", session)

    assert UnmatchedStripeEvent.objects.get().reason == "no purchase for this session"
    assert balance(buyer) == 0


def test_a_failed_event_grants_nothing_and_its_retry_grants_once(webhooks, buyer):
    purchase = pending_purchase(buyer, make_pack())
    session = session_object(purchase, customer="cus_late")
    payload = event("checkout.session.completed", session)
    webhooks.fake.add(session)

    assert webhooks.post(payload).status_code == 500  # the customer is not known yet
    assert balance(buyer) == 0
    assert not Event.objects.filter(id=payload["id"]).exists()  # rolled back with the handler

    webhooks.fake.add({"id": "cus_late", "object": "customer", "email": buyer.email})
    assert webhooks.post(payload).status_code == 200  # Stripe's retry
    assert webhooks.post(payload).status_code == 200

    assert balance(buyer) == 1000
    assert Purchase.objects.get(pk=purchase.pk).status == "paid"


def test_a_payment_for_a_suspended_wallet_is_recorded_for_staff_without_failing(webhooks, buyer):
    from credits import services
    from tests.credits.conftest import ACTOR

    purchase = pending_purchase(buyer, make_pack())
    services.suspend(wallet=buyer.wallet, reason="fraud", actor=ACTOR)

    webhooks.send("checkout.session.completed", session_object(purchase))

    assert Purchase.objects.get(pk=purchase.pk).status == "paid"
    assert "wallet is suspended" in UnmatchedStripeEvent.objects.get().reason
    assert balance(buyer) == 0
