"""Staff powers as a bank limits them: the staff API obeys the admin's permissions and wants a
two-factor session, nobody's powers reach their own wallet, large or many grants and deductions
need a second person (maker-checker), and every act is in the staff audit trail."""

from datetime import timedelta

import pytest
import time_machine
from django.db import DatabaseError, transaction
from django.test import Client
from django.urls import resolve, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from core.api.permissions import StaffPermission
from credits import services
from credits.actors import Actor
from credits.errors import OwnWalletRefused
from credits.models import ApprovalRequest, CreditTransaction, StaffAction
from credits.reconciliation import reconcile
from credits.services import staff as staff_powers
from disputes import services as disputes
from disputes.errors import DisputeError
from disputes.models import Dispute
from tests.clients import Api, api_token, sign_in_staff
from tests.credits.conftest import ACTOR, fund, key, state
from tests.factories import StaffFactory, UserFactory
from tests.pages import drawn_form, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]

GRANTER = ["credits.view_wallet", "credits.change_wallet"]
CHECKER = ["credits.view_approvalrequest", "credits.decide_approvalrequest"]


def staff_operations() -> list[tuple[str, str]]:
    """Every (path, method) of the staff API, as the OpenAPI schema lists them."""
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    found = [
        (path, method.upper())
        for path, operations in paths.items()
        if path.startswith("/api/v1/admin/")
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(found) >= 12  # wallets, grants, deductions, status, approvals, disputes
    return found


def concrete(path: str) -> str:
    """A schema path with every {parameter} filled in."""
    for name in ("wallet_id", "dispute_id", "approval_id", "job_id", "milestone_id"):
        path = path.replace(f"{{{name}}}", "1")
    return path


def call(client: Client, method: str, path: str, **extra):
    if method == "GET":
        return client.get(path, **extra)
    return client.post(
        path, "{}", content_type="application/json", HTTP_IDEMPOTENCY_KEY=key(), **extra
    )


def error_code(response) -> str:
    return response.json()["errors"][0]["code"]


# --- the gate -------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "method"), staff_operations())
def test_every_staff_endpoint_declares_a_permission_for_each_method(path, method):
    view = resolve(concrete(path)).func.cls

    assert StaffPermission in view.permission_classes
    declared = view.required_permissions.get(method)
    assert declared, f"{method} {path} declares no permission"


@pytest.mark.parametrize(("path", "method"), staff_operations())
def test_every_staff_endpoint_refuses_staff_without_its_permission(path, method):
    view = resolve(concrete(path)).func.cls
    needed = view.required_permissions[method]
    needed = {needed} if isinstance(needed, str) else set(needed)
    all_staff_permissions = [
        *GRANTER,
        *CHECKER,
        "disputes.view_dispute",
        "disputes.change_dispute",
        "jobs.deliver",
    ]
    others = [name for name in all_staff_permissions if name not in needed]
    lacking = sign_in_staff(Client(), StaffFactory(is_superuser=False, permissions=others))
    holding = sign_in_staff(Client(), StaffFactory(is_superuser=False, permissions=sorted(needed)))

    refused = call(lacking, method, concrete(path))
    let_through = call(holding, method, concrete(path))

    assert (refused.status_code, error_code(refused)) == (403, "permission_denied")
    # 200, or 400/404 for the empty body and made-up ids: past the gate, and no crash
    assert let_through.status_code in (200, 400, 404, 422)


@pytest.mark.parametrize(("path", "method"), staff_operations())
def test_every_staff_endpoint_refuses_a_token_and_a_session_without_two_factor(path, method):
    staff = StaffFactory()
    with_token = call(
        Client(), method, concrete(path), HTTP_AUTHORIZATION=f"Token {api_token(staff)}"
    )
    password_only = Client()
    password_only.force_login(staff)
    user = Client()
    user.force_login(UserFactory())

    assert (with_token.status_code, error_code(with_token)) == (403, "two_factor_required")
    assert call(password_only, method, concrete(path)).status_code == 403
    assert call(user, method, concrete(path)).status_code == 403


def test_a_read_only_support_role_cannot_grant_itself_credits(wallet):
    support = StaffFactory(is_superuser=False, permissions=["credits.view_wallet"])
    api = Api(support)

    listed = api.get("admin/wallets")
    granted = api.post(
        f"admin/wallets/{support.wallet.pk}/grants", {"amount": 10**12, "reason": "mine"}
    )
    frozen = api.post(f"admin/wallets/{wallet.pk}/status", {"action": "freeze", "reason": "x"})

    assert listed.status_code == 200
    assert (granted.status_code, error_code(granted)) == (403, "permission_denied")
    assert frozen.status_code == 403
    assert state(support.wallet) == (0, 0, 0)
    assert wallet.status == "active"


# --- nobody's powers reach their own wallet ------------------------------------------------


def test_staff_cannot_grant_deduct_or_change_the_status_of_their_own_wallet():
    staff = StaffFactory()
    fund(staff.wallet, 100)
    api = Api(staff)

    granted = api.post(f"admin/wallets/{staff.wallet.pk}/grants", {"amount": 5, "reason": "me"})
    deducted = api.post(f"admin/wallets/{staff.wallet.pk}/deductions", {"amount": 5, "reason": "x"})
    frozen = api.post(
        f"admin/wallets/{staff.wallet.pk}/status", {"action": "freeze", "reason": "x"}
    )

    assert [(r.status_code, error_code(r)) for r in (granted, deducted, frozen)] == [
        (422, "own_wallet")
    ] * 3
    assert state(staff.wallet) == (100, 0, 100)
    assert StaffAction.objects.count() == 0


def test_the_ledger_refuses_a_staff_actor_on_their_own_wallet_whatever_the_surface():
    staff = StaffFactory()
    fund(staff.wallet, 100)
    spent = services.spend(wallet=staff.wallet, amount=40, actor=ACTOR, idempotency_key=key())
    as_staff = Actor.for_staff(staff)

    with pytest.raises(OwnWalletRefused):
        services.grant(
            wallet=staff.wallet, amount=5, source="admin", actor=as_staff, idempotency_key=key()
        )
    with pytest.raises(OwnWalletRefused):
        services.refund(transaction=spent, actor=as_staff, idempotency_key=key())
    with pytest.raises(OwnWalletRefused):
        services.adjust(
            wallet=staff.wallet, amount=5, reason="x", actor=as_staff, idempotency_key=key()
        )
    assert state(staff.wallet) == (60, 0, 60)
    # As a user, the same person spends their own credits as anyone does.
    services.spend(
        wallet=staff.wallet, amount=10, actor=Actor.for_user(staff), idempotency_key=key()
    )
    assert state(staff.wallet) == (50, 0, 50)


def test_staff_cannot_decide_their_own_dispute():
    staff = StaffFactory()
    fund(staff.wallet, 100)
    spent = services.spend(wallet=staff.wallet, amount=40, actor=ACTOR, idempotency_key=key())
    dispute = disputes.open_dispute(
        user=staff, txn=spent, reason="not_delivered", description="Never came.", amount=40
    )

    with pytest.raises(DisputeError, match="own dispute"):
        disputes.resolve(dispute=dispute, staff=staff, amount=40)
    with pytest.raises(DisputeError, match="own dispute"):
        disputes.reject(dispute=dispute, staff=staff, reason="No.")
    assert Dispute.objects.get(pk=dispute.pk).status == "open"
    assert state(staff.wallet) == (60, 0, 60)


def test_a_staff_member_using_the_user_api_has_no_staff_powers_over_holds():
    staff = StaffFactory()
    fund(staff.wallet, 100)
    hold = services.hold(
        wallet=staff.wallet,
        amount=30,
        actor=Actor.for_app(7, "Jobs"),
        idempotency_key=key(),
    ).hold

    released = Api(staff).post(f"holds/{hold.pk}/release")

    assert (released.status_code, error_code(released)) == (422, "hold_not_yours")
    assert state(staff.wallet) == (100, 30, 70)


# --- maker-checker --------------------------------------------------------------------------


@pytest.fixture
def maker():
    return StaffFactory(is_superuser=False, permissions=GRANTER)


@pytest.fixture
def checker():
    return StaffFactory(is_superuser=False, permissions=CHECKER)


def test_a_grant_within_authority_posts_and_a_larger_one_waits_for_a_second_person(
    maker, checker, wallet
):
    api = Api(maker)
    small = api.post(f"admin/wallets/{wallet.pk}/grants", {"amount": 1000, "reason": "Apology"})
    large = api.post(f"admin/wallets/{wallet.pk}/grants", {"amount": 1001, "reason": "Outage"})

    assert small.status_code == 201
    assert (large.status_code, large.json()["status"]) == (202, "pending")
    assert state(wallet)[0] == 1000  # the large one has not posted
    approval_id = large.json()["id"]

    by_maker = api.post(f"admin/approvals/{approval_id}/approve", idempotency_key=None)
    approved = Api(checker).post(
        f"admin/approvals/{approval_id}/approve",
        {"note": "Checked the ticket"},
        idempotency_key=None,
    )

    assert by_maker.status_code == 403  # the maker lacks the permission to decide
    assert (approved.status_code, approved.json()["status"]) == (200, "approved")
    assert state(wallet)[0] == 2001
    posted = CreditTransaction.objects.get(pk=approved.json()["transaction"])
    assert (posted.actor_user, posted.reference_object.pk) == (maker, approval_id)
    assert posted.metadata["approved_by"] == checker.email
    assert reconcile().clean


def test_the_maker_cannot_approve_their_own_request_even_with_the_permission(wallet):
    both = StaffFactory(is_superuser=False, permissions=GRANTER + CHECKER)
    outcome = staff_powers.staff_grant(
        wallet=wallet, amount=5000, reason="Big", staff=both, idempotency_key=key()
    )

    response = Api(both).post(
        f"admin/approvals/{outcome.approval.pk}/approve", idempotency_key=None
    )

    assert (response.status_code, error_code(response)) == (422, "approval_not_allowed")
    assert "second member of staff" in response.json()["errors"][0]["detail"]
    assert state(wallet)[0] == 0


def test_the_database_refuses_a_decision_by_the_maker(maker, wallet):
    outcome = staff_powers.staff_deduct(
        wallet=wallet, amount=5000, reason="Fraud", staff=maker, idempotency_key=key()
    )

    with pytest.raises(DatabaseError), transaction.atomic():
        ApprovalRequest.objects.filter(pk=outcome.approval.pk).update(
            status="refused", decided_by=maker, decided_at=timezone.now()
        )


def test_a_refused_request_never_posts(maker, checker, wallet):
    approval = staff_powers.staff_grant(
        wallet=wallet, amount=5000, reason="Big", staff=maker, idempotency_key=key()
    ).approval
    api = Api(checker)

    no_reason = api.post(f"admin/approvals/{approval.pk}/refuse", {}, idempotency_key=None)
    refused = api.post(
        f"admin/approvals/{approval.pk}/refuse", {"reason": "No ticket"}, idempotency_key=None
    )
    later = api.post(f"admin/approvals/{approval.pk}/approve", idempotency_key=None)

    assert no_reason.status_code == 400
    assert (refused.status_code, refused.json()["status"]) == (200, "refused")
    assert (later.status_code, error_code(later)) == (422, "approval_not_allowed")
    assert state(wallet)[0] == 0


def test_a_request_expires_after_the_approval_window(settings, maker, checker, wallet):
    settings.CREDITS_STAFF_APPROVAL_HOURS = 72
    approval = staff_powers.staff_grant(
        wallet=wallet, amount=5000, reason="Big", staff=maker, idempotency_key=key()
    ).approval

    with time_machine.travel(timezone.now() + timedelta(hours=72, minutes=1)):
        listed = Api(checker).get("admin/approvals?status=expired").json()["results"]
        late = Api(checker).post(f"admin/approvals/{approval.pk}/approve", idempotency_key=None)

    assert [row["id"] for row in listed] == [approval.pk]
    assert (late.status_code, error_code(late)) == (422, "approval_expired")
    assert ApprovalRequest.objects.get(pk=approval.pk).status == "expired"
    assert state(wallet)[0] == 0


def test_an_approval_the_ledger_refuses_leaves_the_request_pending(maker, checker, wallet):
    fund(wallet, 3000)
    approval = staff_powers.staff_deduct(
        wallet=wallet, amount=2500, reason="Chargeback", staff=maker, idempotency_key=key()
    ).approval
    services.spend(wallet=wallet, amount=1000, actor=ACTOR, idempotency_key=key())

    refused = Api(checker).post(f"admin/approvals/{approval.pk}/approve", idempotency_key=None)
    fund(wallet, 500)
    approved = Api(checker).post(f"admin/approvals/{approval.pk}/approve", idempotency_key=None)

    assert (refused.status_code, error_code(refused)) == (422, "insufficient_credits")
    assert approved.json()["status"] == "approved"
    assert state(wallet)[0] == 0


def test_the_daily_limit_turns_many_small_grants_into_requests(settings, maker, wallet):
    settings.CREDITS_STAFF_DAILY_LIMIT = 2500
    outcomes = [
        staff_powers.staff_grant(
            wallet=wallet, amount=1000, reason="Goodwill", staff=maker, idempotency_key=key()
        )
        for _ in range(3)
    ]

    assert [o.transaction is not None for o in outcomes] == [True, True, False]
    assert "daily limit" in outcomes[2].approval.why_approval
    assert state(wallet)[0] == 2000
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        tomorrow = staff_powers.staff_grant(
            wallet=wallet, amount=1000, reason="Goodwill", staff=maker, idempotency_key=key()
        )
    assert tomorrow.transaction is not None


def test_a_retried_staff_grant_replays_whether_it_posted_or_asked(settings, maker, wallet):
    settings.CREDITS_STAFF_DAILY_LIMIT = 1000
    api = Api(maker)
    path = f"admin/wallets/{wallet.pk}/grants"

    posted = [api.post(path, {"amount": 1000, "reason": "A"}, idempotency_key="k1") for _ in "ab"]
    asked = [api.post(path, {"amount": 10, "reason": "B"}, idempotency_key="k2") for _ in "ab"]
    other = api.post(path, {"amount": 11, "reason": "B"}, idempotency_key="k2")

    assert [r.status_code for r in posted] == [201, 201]
    assert posted[0].json()["id"] == posted[1].json()["id"]
    assert [r.status_code for r in asked] == [202, 202]
    assert ApprovalRequest.objects.count() == 1
    assert other.status_code == 409
    # The service replays on its own too (the API's stored response aside).
    again = staff_powers.staff_grant(
        wallet=wallet, amount=1000, reason="A", staff=maker, idempotency_key="k1"
    )
    assert again.transaction.pk == posted[0].json()["id"]
    assert state(wallet)[0] == 1000


def test_large_operations_in_the_admin_wait_for_approval_and_are_decided_there(
    client, maker, checker, wallet
):
    sign_in_staff(client, maker)
    url = reverse("admin:credits_wallet_operation", args=["grant"]) + f"?ids={wallet.pk}"
    url = drawn_form(client, url)

    response = client.post(
        url,
        {
            "amount": 5000,
            "kind": "paid",
            "priority": 50,
            "reason": "Outage",
        },
        follow=True,
    )

    assert "Waiting for a colleague's approval" in text(response)
    approval = ApprovalRequest.objects.get()
    assert state(wallet)[0] == 0

    sign_in_staff(client, checker)
    decide = drawn_form(client, reverse("admin:credits_approvalrequest_decide", args=[approval.pk]))
    assert "Approve or refuse" in text(
        client.get(reverse("admin:credits_approvalrequest_change", args=[approval.pk]))
    )
    decided = client.post(decide, {"decision": "approve", "note": "ok"}, follow=True)

    assert "Approved and posted" in text(decided)
    assert state(wallet)[0] == 5000


def test_the_admin_refuses_deciding_without_the_permission(client, maker, wallet):
    approval = staff_powers.staff_grant(
        wallet=wallet, amount=5000, reason="Big", staff=maker, idempotency_key=key()
    ).approval
    sign_in_staff(client, StaffFactory(is_superuser=False, permissions=GRANTER))

    response = client.post(
        reverse("admin:credits_approvalrequest_decide", args=[approval.pk]),
        {"decision": "approve"},
    )

    assert response.status_code == 403
    assert state(wallet)[0] == 0


# --- the audit trail -----------------------------------------------------------------------


def test_every_staff_act_is_in_the_audit_trail_filterable_by_person(client, maker, checker, wallet):
    fund(wallet, 100)
    staff_powers.staff_grant(
        wallet=wallet, amount=50, reason="Goodwill", staff=maker, idempotency_key=key()
    )
    approval = staff_powers.staff_deduct(
        wallet=wallet, amount=5000, reason="Fraud", staff=maker, idempotency_key=key()
    ).approval
    staff_powers.refuse(approval=approval, staff=checker, reason="No evidence")
    services.freeze(wallet=wallet, reason="Review", actor=Actor.for_staff(maker))

    trail = list(StaffAction.objects.order_by("id").values_list("staff__email", "kind", "amount"))
    assert trail == [
        (maker.email, "grant", 50),
        (maker.email, "approval_requested", 5000),
        (checker.email, "refused", 5000),
        (maker.email, "freeze", None),
    ]
    sign_in_staff(client, StaffFactory())
    changelist = reverse("admin:credits_staffaction_changelist")
    only_checker = text(client.get(changelist, {"staff": checker.pk}))
    assert "No evidence" in only_checker
    assert "Goodwill" not in only_checker
    with pytest.raises(DatabaseError), transaction.atomic():
        StaffAction.objects.update(reason="edited")
