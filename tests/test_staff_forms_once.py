"""Every staff form that moves credits or changes a wallet acts once per drawn form (core/once.py).

A form is drawn, sent, and then sent again as it was (the browser's Back, then the button
again; a reload of the sent page): the second send changes nothing and says "This operation was
already done", with a link to what was done. A form drawn afresh is a new intent. The walk is
over every form of every staff step view: a new operation, decision or dispute step without a
case here fails `test_the_walk_covers_every_staff_form`.
"""

from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Purchase
from credits import services
from credits.actors import Actor
from credits.admin.staff import DECISIONS
from credits.admin.wallets import OPERATIONS
from credits.models import CreditTransaction, StaffAction, WalletStatusChange
from credits.services import staff as staff_powers
from disputes import services as disputes
from disputes.admin import STEPS
from disputes.models import DisputeMessage
from integrations.admin.apps import OPERATIONS as APP_OPERATIONS
from integrations.models import AppStatusChange, WebhookDelivery
from integrations.services import apps as partner_apps
from integrations.services import caps, consents, webhooks
from jobs.admin import OVERRIDES
from jobs.models import Activity
from tests.billing.conftest import fake_stripe, make_pack, pending_purchase, stripe_keys  # noqa: F401 (fixtures)
from tests.clients import sign_in_staff
from tests.credits.conftest import ACTOR, fund, key
from tests.factories import StaffFactory, UserFactory
from tests.jobs.test_admin import delivered_job
from tests.pages import drawn_form, page, text
from tests.routes import routes

pytestmark = pytest.mark.django_db

ALREADY_DONE = "This operation was already done"


@dataclass
class Form:
    url: str
    data: dict


def _wallet_form(name: str, data: dict, status: str = "active"):
    def make(fake) -> Form:
        wallet = UserFactory().wallet
        fund(wallet, 100)
        wallet.status = status
        wallet.save(update_fields=["status"])
        url = reverse("admin:credits_wallet_operation", args=[name]) + f"?ids={wallet.pk}"
        return Form(url, data)

    return make


def _decision(decision: str):
    def make(fake) -> Form:
        wallet = UserFactory().wallet
        approval = staff_powers.staff_grant(
            wallet=wallet, amount=5000, reason="Outage", staff=StaffFactory(), idempotency_key=key()
        ).approval
        url = reverse("admin:credits_approvalrequest_decide", args=[approval.pk])
        return Form(url, {"decision": decision, "note": "Checked the ticket."})

    return make


def _dispute_step(step: str, data: dict):
    def make(fake) -> Form:
        user = UserFactory()
        fund(user.wallet, 100)
        spend = services.spend(
            wallet=user.wallet, amount=60, description="Logo", actor=ACTOR, idempotency_key=key()
        )
        dispute = disputes.open_dispute(
            user=user, txn=spend, reason="not_delivered", description="Nothing.", amount=40
        )
        if step == "assign":
            data["assignee"] = StaffFactory().pk
        return Form(reverse("admin:disputes_dispute_step", args=[dispute.pk, step]), data)

    return make


def _override(name: str):
    def make(fake) -> Form:
        milestone = delivered_job().milestones.get(position=1)
        url = reverse("admin:jobs_milestone_override", args=[name]) + f"?ids={milestone.pk}"
        return Form(url, {"reason": "The client asked us by phone."})

    return make


def _refund(fake) -> Form:
    purchase = pending_purchase(UserFactory(), make_pack())
    Purchase.objects.filter(pk=purchase.pk).update(status="paid", stripe_payment_intent_id="pi_1")
    url = reverse("admin:billing_purchase_refund", args=[purchase.pk])
    return Form(url, {"amount": "4.00", "reason": "Late delivery"})


def _app_operation(name: str):
    """A partner app's status change or the release of its holds: an approved app with an
    open hold on a consenting user's wallet (pending for an approval, suspended for a
    reactivation)."""

    def make(fake) -> Form:
        staff, user = StaffFactory(), UserFactory()
        app, _ = partner_apps.register(
            owner=UserFactory(),
            name="Partner",
            homepage="https://partner.example.com",
            redirect_uris="https://partner.example.com/cb",
            allowed_scopes="credits:hold",
        )
        if name != "approve":
            partner_apps.change_status(app=app, to="approved", reason="Fine", by=staff)
            fund(user.wallet, 100)
            consents.give(app=app, user=user, scope_names=["credits:hold"], cap=100)
            actor = Actor.for_app(
                app.pk, app.name, user_id=user.pk, charge_limit=caps.charge_limit(app.pk, user.pk)
            )
            services.hold(wallet=user.wallet, amount=30, actor=actor, idempotency_key=key())
        if name == "reactivate":
            partner_apps.change_status(app=app, to="suspended", reason="Complaints", by=staff)
        url = reverse("admin:integrations_partnerapp_operation", args=[name]) + f"?ids={app.pk}"
        return Form(url, {"reason": "Reviewed the app."})

    return make


def _webhook_resend(fake) -> Form:
    """Resending everything since a time to an endpoint: one event its app may receive."""
    app, _ = partner_apps.register(
        owner=UserFactory(),
        name="Partner",
        homepage="https://partner.example.com",
        redirect_uris="https://partner.example.com/cb",
        allowed_scopes="credits:read",
    )
    partner_apps.change_status(app=app, to="approved", reason="Fine", by=StaffFactory())
    endpoint = webhooks.create(
        app=app, url="https://partner.example.com/hooks", event_types=["credits.granted"]
    ).endpoint
    user = UserFactory()
    consents.give(app=app, user=user, scope_names=["credits:read"], cap=100)
    fund(user.wallet, 10)
    url = reverse("admin:integrations_webhookendpoint_resend") + f"?ids={endpoint.pk}"
    since = timezone.now() - timedelta(days=1)  # resends reach back 14 days at most
    return Form(url, {"since": since.strftime("%Y-%m-%dT%H:%M")})


FORMS = {
    "wallet grant": _wallet_form(
        "grant", {"amount": 7, "kind": "paid", "priority": 50, "reason": "Goodwill"}
    ),
    "wallet deduct": _wallet_form("deduct", {"amount": 7, "reason": "Correction"}),
    "wallet freeze": _wallet_form("freeze", {"reason": "Chargeback"}),
    "wallet unfreeze": _wallet_form("unfreeze", {"reason": "Cleared"}, status="frozen"),
    "wallet suspend": _wallet_form("suspend", {"reason": "Fraud"}),
    "wallet reactivate": _wallet_form("reactivate", {"reason": "Cleared"}, status="suspended"),
    "approval approve": _decision("approve"),
    "approval refuse": _decision("refuse"),
    "dispute assign": _dispute_step("assign", {}),
    "dispute resolve": _dispute_step("resolve", {"amount": 40, "note": "Sorry."}),
    "dispute reject": _dispute_step("reject", {"reason": "Delivered."}),
    "dispute ask": _dispute_step("ask", {"question": "Which file?"}),
    "dispute note": _dispute_step("note", {"body": "Looked at it.", "internal": "on"}),
    "purchase refund": _refund,
    **{f"milestone {name}": _override(name) for name in OVERRIDES},
    **{f"app {name}": _app_operation(name) for name in APP_OPERATIONS},
    "webhook resend since": _webhook_resend,
}


def effects(fake) -> tuple[int, ...]:
    """Everything a staff form can do: ledger transactions, status changes (of wallets and of
    partner apps), staff acts, dispute messages, refunds asked of Stripe."""
    return (
        CreditTransaction.objects.count(),
        WalletStatusChange.objects.count(),
        StaffAction.objects.count(),
        DisputeMessage.objects.count(),
        Activity.objects.count(),
        AppStatusChange.objects.count(),
        WebhookDelivery.objects.count(),
        len(fake.posted("/v1/refunds")),
    )


@pytest.fixture
def stripe(fake_stripe):  # noqa: F811 (the fixture imported above)
    return fake_stripe


@pytest.fixture
def staff_client(client):
    sign_in_staff(client, StaffFactory())
    return client


def test_the_walk_covers_every_staff_form():
    staff_views = {"credits_wallet_operation", "credits_approvalrequest_decide"}
    staff_views |= {"billing_purchase_refund", "disputes_dispute_step", "jobs_milestone_override"}
    staff_views |= {"integrations_partnerapp_operation", "integrations_webhookendpoint_resend"}
    standard = ("_changelist", "_add", "_change", "_delete", "_history", "_autocomplete")
    # An app's keys are made on pages that show the new secret once (200, not a redirect):
    # tests/integrations/test_admin_apps.py sends each of them again.
    standard += ("_create_key", "_rotate_key", "_revoke_key")
    ours = {
        route.name.removeprefix("admin:")
        for route in routes()
        if route.name.startswith("admin:")
        and route.admin_model
        and route.admin_model[0]
        in {"accounts", "credits", "billing", "disputes", "jobs", "integrations"}
        and not route.name.endswith(standard)
    }
    assert ours - {"accounts_user_password_change"} == staff_views
    walked = {
        *(f"wallet {name}" for name in OPERATIONS),
        *(f"approval {decision}" for decision in DECISIONS),
        *(f"dispute {step}" for step in STEPS),
        "purchase refund",
        *(f"milestone {name}" for name in OVERRIDES),
        *(f"app {name}" for name in APP_OPERATIONS),
        "webhook resend since",
    }
    assert set(FORMS) == walked


@pytest.mark.parametrize("name", FORMS)
def test_a_drawn_staff_form_sent_again_changes_nothing_and_says_it_was_done(
    staff_client, stripe, name
):
    form = FORMS[name](stripe)
    url = drawn_form(staff_client, form.url)
    before = effects(stripe)

    sent = staff_client.post(url, form.data)
    after = effects(stripe)
    again = staff_client.post(url, form.data)  # Back, then the button again
    back = staff_client.get(url)  # Back alone: the page drawn again from its address

    assert sent.status_code == 302, text(sent)
    assert after != before
    assert effects(stripe) == after
    for response in (again, back):
        assert response.status_code == 200
        assert ALREADY_DONE in text(response)
        result = page(response).select_one("[role=status] a")["href"]
        assert staff_client.get(result).status_code == 200
    # Opening the form afresh is a new intent, with a new token.
    assert drawn_form(staff_client, form.url) != url


@pytest.mark.parametrize("name", ["wallet grant", "wallet deduct", "dispute note"])
def test_two_drawn_forms_are_two_intents(staff_client, stripe, name):
    form = FORMS[name](stripe)
    first, second = drawn_form(staff_client, form.url), drawn_form(staff_client, form.url)
    before = CreditTransaction.objects.count() + DisputeMessage.objects.count()

    staff_client.post(first, form.data)
    staff_client.post(second, form.data)

    assert CreditTransaction.objects.count() + DisputeMessage.objects.count() == before + 2


def test_the_once_token_is_the_grants_idempotency_key(staff_client, stripe):
    """Two sends racing each other (both before either marks the token done) are still one
    grant: the ledger's key is derived from the token."""
    form = FORMS["wallet grant"](stripe)
    url = drawn_form(staff_client, form.url)
    token = url.split("once=")[1]
    wallet_id = int(form.url.split("ids=")[1])

    staff_client.post(url, form.data)

    txn = CreditTransaction.objects.get(wallet_id=wallet_id, kind="grant", actor_kind="staff")
    assert txn.idempotency_record.key == f"admin:once:{token}:{wallet_id}"


def test_a_form_sent_without_a_valid_token_does_nothing_and_is_drawn_afresh(staff_client):
    wallet = UserFactory().wallet
    url = reverse("admin:credits_wallet_operation", args=["grant"]) + f"?ids={wallet.pk}"
    data = {"amount": 7, "kind": "paid", "priority": 50, "reason": "Goodwill"}

    for address in (url, f"{url}&once=made-up"):
        response = staff_client.post(address, data, follow=True)
        assert "nothing was done" in text(response)

    assert CreditTransaction.objects.filter(wallet=wallet).count() == 0
