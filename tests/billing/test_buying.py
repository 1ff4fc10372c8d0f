"""The shop and checkout pages, with Stripe answered by the fake: nothing here grants credits."""

import threading
from contextlib import suppress

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from djstripe.models import Customer

from billing.models import Purchase, Redemption, Subscription
from tests.billing.conftest import (
    charge_object,
    make_pack,
    make_plan,
    make_promotion,
    payment_intent_object,
    pending_purchase,
    session_object,
)
from tests.credits.conftest import state
from tests.factories import UserFactory
from tests.pages import accessibility_problems, page, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def shopper(client, fake_stripe):
    user = UserFactory()
    client.force_login(user)
    return user


def buy(client, package, promo_code=""):
    return client.post(
        reverse("billing:checkout"), {"package": package.pk, "promo_code": promo_code}
    )


def test_the_shop_lists_packs_and_plans_with_price_per_credit(client):
    make_pack(name="Starter", credits=500, price="5.00")
    make_plan(name="Monthly", credits=1000, price="8.00")
    make_pack(name="Hidden", is_active=False)

    response = client.get(reverse("billing:shop"))

    page_text = text(response)
    assert "Starter 500 credits $5.00 ($0.01 per credit)" in page_text
    assert "Monthly 1,000 credits every month $8.00 / month ($0.008 per credit)" in page_text
    assert "Hidden" not in page_text
    assert accessibility_problems(response) == []


def test_without_stripe_keys_the_shop_says_payments_are_not_configured(client, settings):
    settings.STRIPE_SECRET_KEY = ""
    pack = make_pack()
    client.force_login(UserFactory())

    shop = client.get(reverse("billing:shop"))
    refused = buy(client, pack)

    assert "Payments are not configured" in text(shop)
    assert page(shop).find("button", string=lambda s: s and "Buy" in s) is None
    assert "Payments are not configured" in text(client.get(refused["Location"]))
    assert not Purchase.objects.exists()


def test_buying_a_pack_opens_a_checkout_for_a_pending_purchase(client, shopper, fake_stripe):
    pack = make_pack()
    make_promotion()

    response = buy(client, pack, promo_code="spring")

    purchase = Purchase.objects.get()
    assert (purchase.status, purchase.credits, purchase.bonus_credits) == ("pending", 1000, 200)
    assert response.status_code == 303
    assert (
        response["Location"]
        == f"https://checkout.stripe.test/{purchase.stripe_checkout_session_id}"
    )
    (params,) = fake_stripe.posted("/v1/checkout/sessions")
    assert params["mode"] == "payment"
    assert params["line_items[0][price]"] == "price_standard"
    assert params["client_reference_id"] == str(shopper.pk)
    assert params["metadata[purchase_id]"] == str(purchase.pk)
    assert params["payment_intent_data[metadata][purchase_id]"] == str(purchase.pk)
    assert params["success_url"].endswith("/billing/success/?session_id={CHECKOUT_SESSION_ID}")
    assert Redemption.objects.get().status == "reserved"
    assert state(shopper.wallet) == (0, 0, 0)


def test_the_stripe_customer_is_created_once_per_user(client, shopper, fake_stripe):
    pack = make_pack()

    buy(client, pack)
    buy(client, pack)

    assert len(fake_stripe.posted("/v1/customers")) == 1
    assert Customer.objects.get(subscriber=shopper)


def test_subscribing_opens_a_subscription_checkout(client, shopper, fake_stripe):
    plan = make_plan()

    response = buy(client, plan)

    assert response.status_code == 303
    (params,) = fake_stripe.posted("/v1/checkout/sessions")
    assert params["mode"] == "subscription"
    assert params["subscription_data[metadata][user_id]"] == str(shopper.pk)


def test_a_second_subscription_is_refused(client, shopper):
    plan = make_plan()
    Subscription.objects.create(
        user=shopper, package=plan, stripe_subscription_id="sub_x", status="active"
    )

    response = buy(client, plan)

    assert "You already have a subscription" in text(client.get(response["Location"]))
    assert not Purchase.objects.exists()


def test_a_second_plan_checkout_closes_the_first_so_only_one_can_be_paid(
    client, shopper, fake_stripe
):
    plan = make_plan()
    buy(client, plan)
    first = Purchase.objects.get()

    buy(client, plan)

    first.refresh_from_db()
    assert first.status == "expired"
    assert fake_stripe.objects[first.stripe_checkout_session_id]["status"] == "expired"
    assert Purchase.objects.filter(status="pending").count() == 1


def test_a_plan_checkout_is_refused_while_a_paid_one_awaits_its_webhook(
    client, shopper, fake_stripe
):
    plan = make_plan()
    buy(client, plan)
    first = Purchase.objects.get()
    fake_stripe.objects[first.stripe_checkout_session_id]["status"] = "complete"

    response = buy(client, plan)

    assert "Your subscription is being set up" in text(client.get(response["Location"]))
    assert Purchase.objects.count() == 1


def test_a_plan_checkout_already_expired_at_stripe_is_abandoned_and_a_new_one_opens(
    client, shopper, fake_stripe
):
    plan = make_plan()
    buy(client, plan)
    first = Purchase.objects.get()
    fake_stripe.objects[first.stripe_checkout_session_id]["status"] = "expired"

    response = buy(client, plan)

    assert response.status_code == 303
    first.refresh_from_db()
    assert first.status == "expired"
    assert Purchase.objects.filter(status="pending").count() == 1


def test_a_plan_checkout_is_refused_plainly_when_stripe_cannot_be_reached(
    client, shopper, fake_stripe
):
    plan = make_plan()
    buy(client, plan)
    first = Purchase.objects.get()
    fake_stripe.unreachable = f"/v1/checkout/sessions/{first.stripe_checkout_session_id}"

    response = buy(client, plan)

    shown = text(client.get(response["Location"]))
    assert "Stripe could not be reached" in shown
    assert "payment went through" not in shown
    assert list(Purchase.objects.values_list("status", flat=True)) == ["pending"]


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the race needs PostgreSQL row locks (DATABASE_URL); SQLite serialises writers",
)
@pytest.mark.django_db(transaction=True)
def test_two_subscribe_clicks_at_once_leave_one_open_checkout(fake_stripe, monkeypatch):
    user, plan = UserFactory(), make_plan()
    barrier = threading.Barrier(2)
    create = fake_stripe._create

    def create_when_both_arrive(path, params):
        if path == "/v1/checkout/sessions":
            with suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=2)  # without the lock both requests meet here
        return create(path, params)

    monkeypatch.setattr(fake_stripe, "_create", create_when_both_arrive)

    def subscribe():
        try:
            browser = Client()
            browser.force_login(user)
            buy(browser, plan)
        finally:
            connection.close()

    threads = [threading.Thread(target=subscribe) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    sessions = [o for o in fake_stripe.objects.values() if o["object"] == "checkout.session"]
    assert sorted(session["status"] for session in sessions) == ["expired", "open"]
    assert Purchase.objects.filter(user=user, status="pending").count() == 1


@pytest.mark.parametrize("case", ["unknown", "inactive", "not synced"])
def test_a_package_that_is_not_for_sale_is_refused(client, shopper, case):
    pack = make_pack(
        is_active=case != "inactive", stripe_price_id="" if case == "not synced" else "p"
    )
    package_id = 999999 if case == "unknown" else pack.pk

    response = client.post(reverse("billing:checkout"), {"package": package_id}, follow=True)

    assert "not for sale" in text(response) or "not set up with Stripe" in text(response)
    assert not Purchase.objects.exists()


def test_an_invalid_promo_code_stops_the_checkout(client, shopper):
    response = client.post(
        reverse("billing:checkout"), {"package": make_pack().pk, "promo_code": "NOPE"}, follow=True
    )

    assert "There is no promo code “NOPE”" in text(response)
    assert not Purchase.objects.exists()


def test_when_stripe_refuses_the_purchase_fails_and_the_code_is_freed(client, shopper, fake_stripe):
    make_promotion()
    fake_stripe.fail_next = "/v1/checkout/sessions"

    response = client.post(
        reverse("billing:checkout"),
        {"package": make_pack().pk, "promo_code": "SPRING"},
        follow=True,
    )

    assert "Could not start the checkout" in text(response)
    assert Purchase.objects.get().status == "failed"
    assert Redemption.objects.get().status == "released"


def test_coming_back_from_stripe_offers_to_cancel_and_changes_nothing(client, shopper, fake_stripe):
    make_promotion()
    buy(client, make_pack(name="Starter"), promo_code="SPRING")
    purchase = Purchase.objects.get()

    # Stripe's cancel_url: a link, so anyone's page can make a browser GET it.
    response = client.get(reverse("billing:cancel"), {"purchase": purchase.pk})

    assert response.status_code == 200
    assert "You came back from Stripe without paying for Starter" in text(response)
    form = page(response).find("form", action=reverse("billing:cancel"))
    assert form["method"] == "post"
    assert form.find("input", attrs={"name": "purchase"})["value"] == str(purchase.pk)
    assert accessibility_problems(response) == []
    purchase.refresh_from_db()
    assert purchase.status == "pending"
    assert Redemption.objects.get().status == "reserved"
    assert not fake_stripe.posted(
        f"/v1/checkout/sessions/{purchase.stripe_checkout_session_id}/expire"
    )


def test_a_cancel_from_another_site_is_refused(shopper, fake_stripe):
    buy_client = Client()
    buy_client.force_login(shopper)
    buy(buy_client, make_pack())
    purchase = Purchase.objects.get()
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(shopper)

    response = forged.post(reverse("billing:cancel"), {"purchase": purchase.pk})

    assert response.status_code == 403
    purchase.refresh_from_db()
    assert purchase.status == "pending"


def test_there_is_nothing_to_cancel_in_someone_elses_checkout(client, shopper, fake_stripe):
    other = pending_purchase(UserFactory(), make_pack())

    shown = client.get(reverse("billing:cancel"), {"purchase": other.pk})
    client.post(reverse("billing:cancel"), {"purchase": other.pk})

    assert "There is no unfinished checkout to cancel here" in text(shown)
    assert page(shown).find("form", action=reverse("billing:cancel")) is None
    other.refresh_from_db()
    assert other.status == "pending"


def test_cancelling_closes_the_session_and_frees_the_code(client, shopper, fake_stripe):
    make_promotion()
    buy(client, make_pack(), promo_code="SPRING")
    purchase = Purchase.objects.get()

    response = client.post(reverse("billing:cancel"), {"purchase": purchase.pk}, follow=True)

    assert "Checkout cancelled: nothing was charged." in text(response)
    purchase.refresh_from_db()
    assert purchase.status == "expired"
    assert Redemption.objects.get().status == "released"
    assert fake_stripe.posted(f"/v1/checkout/sessions/{purchase.stripe_checkout_session_id}/expire")


def test_the_success_page_polls_until_the_credits_arrive(client, shopper):
    purchase = pending_purchase(shopper, make_pack())
    session = purchase.stripe_checkout_session_id

    waiting = client.get(reverse("billing:success"), {"session_id": session})
    assert "Confirming your payment" in text(waiting)
    assert page(waiting).find(id="checkout-status")["hx-trigger"] == "every 2s"

    Purchase.objects.filter(pk=purchase.pk).update(status="paid")
    done = client.get(
        reverse("billing:checkout-status"), {"session_id": session}, HTTP_HX_REQUEST="true"
    )
    assert done.status_code == 286  # tells htmx to stop polling
    assert "Payment received: 1,000 credits have arrived." in text(done)


@pytest.mark.parametrize(
    ("status", "heading", "message"),
    [
        (None, "Payment not found", "We could not find this payment."),
        ("expired", "Payment not completed", "did not go through"),
        ("pending", "Confirming your payment", "Confirming your payment with Stripe"),
        ("paid", "Thank you", "Payment received"),
    ],
)
def test_the_success_page_thanks_only_for_a_payment_it_found(
    client, shopper, status, heading, message
):
    session = "cs_unknown"
    if status is not None:
        purchase = pending_purchase(shopper, make_pack())
        Purchase.objects.filter(pk=purchase.pk).update(status=status)
        session = purchase.stripe_checkout_session_id

    shown = page(client.get(reverse("billing:success"), {"session_id": session}))

    assert [h1.get_text(strip=True) for h1 in shown.find_all("h1")] == [heading]
    assert message in shown.find(role="status").get_text()


def test_my_purchases_lists_money_credits_bonus_status_and_receipt(client, shopper):
    purchase = pending_purchase(shopper, make_pack(), bonus=200, promotion=make_promotion())
    Purchase.objects.filter(pk=purchase.pk).update(
        status="paid", receipt_url="https://pay.stripe.test/r/1"
    )
    pending_purchase(UserFactory(), make_pack(name="Other"))

    response = client.get(reverse("billing:purchases"))

    page_text = text(response)
    assert "Standard $10.00 $0.0083 1,000 +200 (SPRING) Paid Receipt" in page_text
    assert "Other" not in page_text
    assert accessibility_problems(response) == []


def test_my_purchases_links_the_receipt_of_the_charge_stripe_sent(
    client, buyer, webhooks, fake_stripe
):
    client.force_login(buyer)
    purchase = pending_purchase(buyer, make_pack())
    webhooks.send("checkout.session.completed", session_object(purchase))
    purchase.refresh_from_db()
    fake_stripe.add(payment_intent_object(purchase))  # dj-stripe fetches the charge's intent
    webhooks.send("charge.succeeded", charge_object(purchase))

    response = client.get(reverse("billing:purchases"))

    (link,) = page(response).select("tbody a")
    assert link["href"] == f"https://pay.stripe.test/receipts/ch_for_{purchase.pk}"
    assert f"Receipt for purchase {purchase.pk}" in link.get_text()


def test_my_subscription_shows_the_plan_and_opens_the_portal(client, shopper, fake_stripe):
    plan = make_plan()
    Subscription.objects.create(
        user=shopper, package=plan, stripe_subscription_id="sub_y", status="active"
    )

    shown = client.get(reverse("billing:subscription"))
    portal = client.post(reverse("billing:portal"))

    assert "Monthly ($8.00 per month, $0.016 per credit)" in text(shown)
    assert accessibility_problems(shown) == []
    assert portal.status_code == 303
    assert portal["Location"] == "https://billing.stripe.test/portal"
    (params,) = fake_stripe.posted("/v1/billing_portal/sessions")
    assert params["return_url"].endswith("/billing/subscription/")
