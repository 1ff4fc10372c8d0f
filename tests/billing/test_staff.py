"""Staff: Stripe catalogue sync, refunds through Stripe, the billing lists in the admin."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.checks import run_checks
from django.core.management import CommandError, call_command
from django.urls import reverse
from djstripe.models import WebhookEndpoint

from billing.models import CreditPackage, Purchase
from tests.billing.conftest import WEBHOOK_SECRET, make_pack, make_plan, pending_purchase
from tests.clients import sign_in_staff
from tests.factories import StaffFactory, UserFactory
from tests.pages import drawn_form, text

pytestmark = pytest.mark.django_db


def sync() -> str:
    out = StringIO()
    call_command("billing_sync_packages", stdout=out)
    return out.getvalue()


def test_sync_creates_the_product_and_price_of_each_package(fake_stripe):
    pack = make_pack(stripe_product_id="", stripe_price_id="", stripe_price_amount=None)
    plan = make_plan(stripe_product_id="", stripe_price_id="", stripe_price_amount=None)

    output = sync()

    assert "Standard: product created, new price created." in output
    products = fake_stripe.posted("/v1/products")
    assert [p["name"] for p in products] == ["Standard", "Monthly"]
    prices = fake_stripe.posted("/v1/prices")
    assert (prices[0]["unit_amount"], prices[0]["currency"]) == ("1000", "usd")
    assert "recurring[interval]" not in prices[0]
    assert prices[1]["recurring[interval]"] == "month"
    pack.refresh_from_db()
    plan.refresh_from_db()
    assert pack.stripe_price_id.startswith("price_fake")
    assert not pack.needs_stripe_sync
    assert plan.stripe_product_id.startswith("prod_fake")


def test_a_pack_and_a_plan_whose_stripe_price_matches_need_no_sync():
    pack, plan = make_pack(), make_plan()

    assert (pack.stripe_price_interval, plan.stripe_price_interval) == ("", "month")
    assert not pack.needs_stripe_sync
    assert not plan.needs_stripe_sync


def test_a_price_change_makes_a_new_price_and_archives_the_old_one(fake_stripe):
    pack = make_pack()
    fake_stripe.add(
        {"id": "prod_standard", "object": "product", "name": "Standard", "active": True},
        {"id": "price_standard", "object": "price", "product": "prod_standard", "active": True},
    )
    CreditPackage.objects.filter(pk=pack.pk).update(price=Decimal("12.00"))

    output = sync()

    pack.refresh_from_db()
    assert "new price created, old price price_standard archived" in output
    assert fake_stripe.posted("/v1/prices")[0]["unit_amount"] == "1200"
    assert fake_stripe.posted("/v1/prices/price_standard") == [{"active": "false"}]
    assert pack.stripe_price_amount == Decimal("12.00")
    assert "already up to date" in sync()


def test_an_interval_change_makes_a_new_price(fake_stripe):
    plan = make_plan()
    fake_stripe.add(
        {"id": "prod_monthly", "object": "product", "name": "Monthly", "active": True},
        {"id": "price_monthly", "object": "price", "product": "prod_monthly", "active": True},
    )
    CreditPackage.objects.filter(pk=plan.pk).update(interval="year")

    output = sync()

    assert "new price created, old price price_monthly archived" in output
    assert fake_stripe.posted("/v1/prices")[0]["recurring[interval]"] == "year"


def test_going_back_to_an_earlier_price_makes_a_new_price_not_the_archived_one(fake_stripe):
    pack = make_pack(stripe_price_id="", stripe_price_amount=None)
    fake_stripe.add({"id": "prod_standard", "object": "product", "name": "Standard"})
    price_ids = []
    for price in ("10.00", "12.00", "10.00"):
        CreditPackage.objects.filter(pk=pack.pk).update(price=Decimal(price))
        sync()
        pack.refresh_from_db()
        price_ids.append(pack.stripe_price_id)

    assert len(set(price_ids)) == 3
    assert fake_stripe.objects[price_ids[-1]]["active"] is True


def test_sync_without_stripe_keys_fails_with_one_line(settings):
    settings.STRIPE_SECRET_KEY = ""
    make_pack()

    with pytest.raises(CommandError, match="1 package"):
        call_command("billing_sync_packages", stdout=StringIO(), stderr=StringIO())


def test_the_webhook_endpoint_command_records_the_secret_and_prints_the_url(settings):
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    out = StringIO()

    call_command(
        "billing_webhook_endpoint", "--base-url", "https://credits.example.com", stdout=out
    )
    call_command(
        "billing_webhook_endpoint", "--base-url", "https://credits.example.com", stdout=out
    )

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == WEBHOOK_SECRET
    assert f"https://credits.example.com/stripe/webhook/{endpoint.djstripe_uuid}/" in out.getvalue()


def test_without_a_secret_the_endpoint_command_prints_the_url_and_what_to_do(settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    out = StringIO()

    call_command("billing_webhook_endpoint", "--base-url", "https://c.example.com", stdout=out)

    assert "/stripe/webhook/" in out.getvalue()
    assert "No STRIPE_WEBHOOK_SECRET yet" in out.getvalue()


def test_make_runs_demo_records_no_endpoint_without_a_secret(settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    out = StringIO()

    call_command("billing_webhook_endpoint", "--if-configured", stdout=out)

    assert not WebhookEndpoint.objects.exists()
    assert "not configured" in out.getvalue()


@pytest.mark.parametrize("base_url", ["", "/", "credits.example.com"])
def test_the_endpoint_command_refuses_without_the_sites_address_naming_the_setting(
    settings, base_url
):
    settings.SITE_URL = ""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET

    with pytest.raises(CommandError, match="set SITE_URL or give --base-url"):
        call_command("billing_webhook_endpoint", "--base-url", base_url, stdout=StringIO())

    assert not WebhookEndpoint.objects.exists()


def test_the_endpoint_records_its_whole_absolute_url(settings):
    settings.SITE_URL = "https://credits.example.com"
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET

    call_command("billing_webhook_endpoint", stdout=StringIO())

    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.url == (f"https://credits.example.com/stripe/webhook/{endpoint.djstripe_uuid}/")


def test_remove_deletes_the_endpoint_and_the_warnings_it_caused(settings):
    settings.STRIPE_WEBHOOK_SECRET = ""
    out = StringIO()
    call_command("billing_webhook_endpoint", "--base-url", "https://c.example.com", stdout=out)
    assert "djstripe.W005" in {message.id for message in run_checks()}
    out.truncate(0)
    out.seek(0)

    call_command("billing_webhook_endpoint", "--remove", stdout=out)
    call_command("billing_webhook_endpoint", "--remove", stdout=out)

    assert not WebhookEndpoint.objects.exists()
    assert {"djstripe.W005", "djstripe.I006"}.isdisjoint(m.id for m in run_checks())
    assert out.getvalue().splitlines() == [
        "Webhook endpoint removed (https://c.example.com/stripe/webhook/"
        + out.getvalue().split("/stripe/webhook/")[1].split("/")[0]
        + "/); delete it in Stripe's dashboard too.",
        "No webhook endpoint recorded by this command: nothing removed.",
    ]


def test_a_malformed_webhook_secret_is_refused(settings):
    settings.STRIPE_WEBHOOK_SECRET = "not-a-secret"

    with pytest.raises(CommandError, match="whsec_"):
        call_command("billing_webhook_endpoint", stdout=StringIO())


@pytest.fixture
def staff_client(client):
    sign_in_staff(client, StaffFactory())
    return client


@pytest.fixture
def paid_purchase(fake_stripe):
    purchase = pending_purchase(UserFactory(), make_pack())
    Purchase.objects.filter(pk=purchase.pk).update(status="paid", stripe_payment_intent_id="pi_1")
    purchase.refresh_from_db()
    return purchase


def test_a_staff_refund_goes_to_stripe_and_moves_no_credits_yet(
    staff_client, paid_purchase, fake_stripe
):
    url = drawn_form(
        staff_client, reverse("admin:billing_purchase_refund", args=[paid_purchase.pk])
    )

    response = staff_client.post(url, {"amount": "4.00", "reason": "late"})

    assert response.status_code == 302
    (params,) = fake_stripe.posted("/v1/refunds")
    assert (params["payment_intent"], params["amount"]) == ("pi_1", "400")
    assert params["metadata[purchase_id]"] == str(paid_purchase.pk)
    paid_purchase.refresh_from_db()
    assert paid_purchase.status == "paid"  # the webhook decides


@pytest.mark.parametrize(("amount", "error"), [("0", "at least 0.01"), ("10.01", "at most 10.00")])
def test_a_refund_beyond_what_was_paid_is_refused(
    staff_client, paid_purchase, fake_stripe, amount, error
):
    url = drawn_form(
        staff_client, reverse("admin:billing_purchase_refund", args=[paid_purchase.pk])
    )

    response = staff_client.post(url, {"amount": amount, "reason": "x"})

    assert response.status_code == 200
    assert error in text(response).replace("greater than or equal to", "at least")
    assert fake_stripe.posted("/v1/refunds") == []


def test_the_purchase_list_filters_shortfalls_and_searches_by_email(staff_client, paid_purchase):
    Purchase.objects.filter(pk=paid_purchase.pk).update(clawback_shortfall=40)

    listed = staff_client.get(
        reverse("admin:billing_purchase_changelist"),
        {"shortfall": "yes", "q": paid_purchase.user.email},
    )

    assert paid_purchase.user.email in text(listed)
    page = staff_client.get(reverse("admin:billing_purchase_change", args=[paid_purchase.pk]))
    assert "Refund through Stripe" in text(page)


def test_packages_and_promotions_show_in_the_admin(staff_client):
    make_pack()
    response = staff_client.get(reverse("admin:billing_creditpackage_changelist"))
    assert "$0.01" in text(response)
    assert staff_client.get(reverse("admin:billing_promotion_changelist")).status_code == 200


def test_a_refund_without_stripe_keys_is_refused_plainly(staff_client, paid_purchase, settings):
    settings.STRIPE_SECRET_KEY = ""
    url = drawn_form(
        staff_client, reverse("admin:billing_purchase_refund", args=[paid_purchase.pk])
    )

    response = staff_client.post(url, {"amount": "1.00", "reason": "x"})

    assert "Stripe is not configured" in text(response)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"kind": "plan", "interval": "", "rollover": "none"},
            "interval",
            "needs a billing period",
        ),
        ({"kind": "plan", "interval": "month", "rollover": "capped"}, "rollover_cap", "cap"),
        ({"kind": "pack", "interval": "", "rollover": "all"}, "rollover", "plans only"),
    ],
)
def test_the_package_form_explains_what_it_refuses(staff_client, fields, field, message):
    data = {"name": "X", "credits": 10, "price": "1.00", "currency": "usd", "display_order": 0}
    data.update(fields)

    response = staff_client.post(reverse("admin:billing_creditpackage_add"), data)

    assert response.status_code == 200
    assert message in text(response)
    assert not CreditPackage.objects.filter(name="X").exists()
