"""Amounts and other whole numbers: JSON integers on the API, ASCII digits on pages.

Arabic-Indic digits ("\u0661\u0662") were read as 12, and so were "12" and 12.0; an amount is
money, so each surface reads one spelling of a number and refuses the others.
"""

from decimal import Decimal

import pytest
import yaml
from django import forms
from django.test import Client
from django.urls import reverse

from billing import admin as billing_admin
from billing import forms as billing_forms
from core.fields import DigitsField, MoneyField
from credits import forms as credit_forms
from credits import services
from credits.admin import staff as credit_staff_admin
from credits.admin import wallets as credit_wallet_admin
from credits.models import CreditTransaction
from disputes import admin as dispute_admin
from disputes import forms as dispute_forms
from tests.clients import Api
from tests.credits.conftest import ACTOR, fund, key, state
from tests.factories import StaffFactory, UserFactory
from tests.integrations.partner_calls import PartnerApi, approved_app
from tests.jobs.conftest import draft_job, milestones
from tests.pages import text

pytestmark = pytest.mark.django_db

ARABIC_INDIC_12 = "\u0661\u0662"  # "١٢", which int() reads as 12
OTHER_SCRIPTS_12 = ["\u06f1\u06f2", "\u0967\u0968", "\U0001d7d9\U0001d7da", "\u0661" + "2"]
NOT_JSON_INTEGERS = [ARABIC_INDIC_12, "12", 12.0, 12.5, True, "12.0", None, [12]]
NOT_ASCII_DIGITS = [ARABIC_INDIC_12, *OTHER_SCRIPTS_12, "12.0", "12,0", "1e3", "-12", "0x1f"]


def integer_fields(document: dict):
    """(method, path, field) for every integer in every request body of the schema."""
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            schema = schemas[body["schema"]["$ref"].rsplit("/", 1)[-1]]
            for name, field in schema["properties"].items():
                if field.get("type") == "integer" and not field.get("readOnly"):
                    yield method, path, name


@pytest.fixture
def world():
    """A user with credits, a hold and a spend; staff; the paths' ids filled in with them."""
    user = UserFactory()
    fund(user.wallet, 1000)
    hold = services.hold(wallet=user.wallet, amount=10, actor=ACTOR, idempotency_key=key()).hold
    job = draft_job(user, 100)
    # Refunds are a partner app's, of what it charged: a spend of 5 by one.
    partner = PartnerApi(approved_app(), user, "credits:spend credits:refund")
    charge = partner.post("spends", {"amount": 5, "description": "a charge"})
    assert charge.status_code == 201, charge.content
    spent = CreditTransaction.objects.get(wallet=user.wallet, kind=CreditTransaction.Kind.SPEND)
    ids = {"{hold_id}": hold.pk, "{wallet_id}": user.wallet.pk, "{dispute_id}": 1}
    ids |= {"{job_id}": job.pk, "{milestone_id}": milestones(job)[0].pk}
    ids |= {"{transaction_id}": spent.pk}
    return {"user": Api(user), "staff": Api(StaffFactory()), "partner": partner, "ids": ids}


def call(world, method: str, path: str, body: dict):
    concrete = path.removeprefix("/api/v1/")
    for placeholder, value in world["ids"].items():
        concrete = concrete.replace(placeholder, str(value))
    api = world["staff"] if concrete.startswith("admin/") else world["user"]
    if concrete.endswith("/refunds"):
        api = world["partner"]
    return api.send(method, concrete, body)


def errors_on(response, field: str) -> list[str]:
    return [e["code"] for e in response.json().get("errors", []) if e["attr"] == field]


def test_every_integer_the_api_reads_is_a_json_integer_only(client, world):
    document = yaml.safe_load(client.get(reverse("api-schema")).content)
    fields = sorted(set(integer_fields(document)))

    assert {(path, name) for _, path, name in fields} == {
        ("/api/v1/spends", "amount"),
        ("/api/v1/holds", "amount"),
        ("/api/v1/holds/{hold_id}/capture", "amount"),
        ("/api/v1/transfers", "amount"),
        ("/api/v1/disputes", "transaction"),
        ("/api/v1/disputes", "amount"),
        ("/api/v1/jobs/{job_id}/milestones/{milestone_id}/dispute", "amount"),
        ("/api/v1/admin/wallets/{wallet_id}/grants", "amount"),
        ("/api/v1/admin/wallets/{wallet_id}/grants", "priority"),
        ("/api/v1/admin/wallets/{wallet_id}/deductions", "amount"),
        ("/api/v1/admin/disputes/{dispute_id}/resolve", "amount"),
        ("/api/v1/jobs", "budget"),
        ("/api/v1/jobs/{job_id}", "budget"),
        ("/api/v1/jobs/{job_id}/milestones/{milestone_id}/accept-part", "amount"),
        ("/api/v1/transactions/{transaction_id}/refunds", "amount"),
    }
    for method, path, name in fields:
        for value in NOT_JSON_INTEGERS:
            response = call(world, method, path, {name: value})
            assert response.status_code == 400, (path, name, value)
            assert errors_on(response, name) in (["invalid"], ["null"]), (path, name, value)
        assert errors_on(call(world, method, path, {name: 12}), name) == [], (path, name)
    assert state(world["user"].user.wallet) == (995, 10, 985)  # nothing moved


def test_a_spend_of_arabic_indic_digits_is_refused_and_spends_nothing(world):
    api = world["user"]

    response = api.post("spends", {"amount": ARABIC_INDIC_12, "description": "Logo"})

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "code": "invalid",
            "detail": 'A whole number is required, as a JSON integer (12, not "12" or 12.0).',
            "attr": "amount",
        }
    ]
    assert CreditTransaction.objects.filter(kind="spend").count() == 1  # the world's own


# The pages' forms, and the staff forms of the admin's steps (refunds, dispute decisions).
FORM_MODULES = [
    credit_forms,
    dispute_forms,
    billing_forms,
    billing_admin,
    dispute_admin,
    credit_wallet_admin,
    credit_staff_admin,
]


def form_fields():
    """(form, field name, field) for every field of every form in FORM_MODULES."""
    for module in FORM_MODULES:
        for form in vars(module).values():
            if isinstance(form, type) and issubclass(form, forms.BaseForm):
                yield from ((form, name, field) for name, field in form.base_fields.items())


def whole_number_fields():
    """(form, field name, field) for every whole-number field of the pages' forms."""
    for form, name, field in form_fields():
        whole = isinstance(field, forms.IntegerField)
        if whole and not isinstance(field, forms.FloatField | forms.DecimalField):
            yield form, name, field


def test_every_amount_of_money_on_a_form_is_ascii_digits_and_a_point():
    money = {(form.__name__, name): field for form, name, field in form_fields()
             if isinstance(field, forms.DecimalField)}  # fmt: skip

    assert set(money) == {("RefundForm", "amount")}
    for (form, name), field in money.items():
        assert isinstance(field, MoneyField), f"{form}.{name} reads digits of any script"
        for value in [ARABIC_INDIC_12 + ".5", "12,50", "1e3", "-1", "12.505"]:
            with pytest.raises(forms.ValidationError):
                field.clean(value)
        assert field.clean("12.50") == Decimal("12.50")


def test_every_whole_number_on_the_pages_forms_is_ascii_digits_only():
    found = {(form.__name__, name): field for form, name, field in whole_number_fields()}

    assert set(found) == {
        ("CreditMovementForm", "amount"),
        ("GrantForm", "amount"),
        ("GrantForm", "priority"),
        ("DeductForm", "amount"),
        ("TransferForm", "amount"),
        ("OpenDisputeForm", "amount"),
        ("MilestoneDisputeForm", "amount"),
        ("ResolveForm", "amount"),
        ("PromoCodeForm", "package"),
        ("CheckoutForm", "package"),
        ("PromotionAdminForm", "value"),
        ("PromotionAdminForm", "max_redemptions"),
        ("PromotionAdminForm", "max_per_user"),
        ("PromotionAdminForm", "credit_lifetime_days"),
    }
    for (form, name), field in found.items():
        assert isinstance(field, DigitsField), f"{form}.{name} reads digits of any script"
        for value in NOT_ASCII_DIGITS:
            with pytest.raises(Exception, match="digits 0 to 9") as refused:
                field.clean(value)
            assert refused.value.code == "invalid", (form, name, value)
        assert field.clean(" 12 ") == 12


def test_the_transfer_page_refuses_arabic_indic_digits_beside_the_field():
    sender, receiver = UserFactory(), UserFactory()
    fund(sender.wallet, 100)
    client = Client()
    client.force_login(sender)

    response = client.post(
        "/dashboard/transfer/",
        {"email": receiver.email, "amount": ARABIC_INDIC_12, "description": ""},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["amount"] == [
        "Enter a whole number, using the digits 0 to 9."
    ]
    assert "Enter a whole number, using the digits 0 to 9." in text(response)
    assert state(sender.wallet)[0] == 100


@pytest.mark.parametrize(
    ("parameter", "status", "code"), [("page_size", 400, "invalid"), ("cursor", 404, "not_found")]
)
def test_page_numbers_in_other_scripts_are_refused(world, parameter, status, code):
    response = world["user"].get(f"disputes?{parameter}={ARABIC_INDIC_12}")

    assert (response.status_code, response.json()["errors"][0]["code"]) == (status, code)
    assert world["user"].get("disputes?page_size=1").status_code == 200
