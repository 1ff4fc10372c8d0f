"""Routes to staff powers found by a review: a promo code its author redeems, a customer's
password set by a user administrator, a request whose maker left, a replay with other terms,
two-factor removed in the session. Each is closed at its rule, not its case."""

from datetime import timedelta

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from billing.models import Promotion
from credits.errors import ApprovalRefused, IdempotencyConflict, InvalidRequest
from credits.models import StaffAction
from credits.services import staff as staff_powers
from disputes import services as disputes
from disputes.errors import DisputeError
from tests.clients import Api, sign_in_staff
from tests.credits.conftest import ACTOR, fund, key, state
from tests.factories import StaffFactory, UserFactory
from tests.pages import text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]
GRANTER = ["credits.view_wallet", "credits.change_wallet"]
CHECKER = ["credits.view_approvalrequest", "credits.decide_approvalrequest"]


def test_whoever_sets_up_or_changes_a_promo_code_cannot_redeem_it(client):
    author = StaffFactory(
        is_superuser=False, permissions=["billing.add_promotion", "billing.view_promotion"]
    )
    sign_in_staff(client, author)
    added = client.post(
        reverse("admin:billing_promotion_add"),
        {"code": "MINE", "kind": "free_grant", "value": 2_000, "valid_from_0": "2020-01-01",
         "valid_from_1": "00:00", "max_per_user": 1, "is_active": "on"},
    )  # fmt: skip
    assert added.status_code == 302, text(added)

    redeemed = client.post(reverse("billing:redeem"), {"code": "MINE"}, follow=True)

    assert "you cannot use it yourself" in text(redeemed)
    assert state(author.wallet) == (0, 0, 0)
    promotion = Promotion.objects.get(code="MINE")
    assert (promotion.created_by, promotion.changed_by) == (author, author)
    logged = StaffAction.objects.get(kind="promotion_changed")
    assert (logged.staff, logged.reference_object) == (author, promotion)
    assert "free credits, no purchase 2000" in logged.reason


def test_a_user_administrator_sends_a_reset_e_mail_and_never_chooses_a_password(client):
    admin = StaffFactory(
        is_superuser=False, permissions=["accounts.change_user", "accounts.view_user"]
    )
    customer = UserFactory()
    sign_in_staff(client, admin)

    for target in (customer, admin):
        page = client.get(reverse("admin:auth_user_password_change", args=[target.pk]))
        assert page.status_code == 403
    set_it = client.post(
        reverse("admin:auth_user_password_change", args=[customer.pk]),
        {"usable_password": "true", "password1": "x-Taken0ver!", "password2": "x-Taken0ver!"},
    )
    sent = client.post(
        reverse("admin:accounts_user_changelist"),
        {"action": "send_password_reset", "_selected_action": [customer.pk]},
        follow=True,
    )

    assert set_it.status_code == 403
    customer.refresh_from_db()
    assert not customer.check_password("x-Taken0ver!")
    assert "password-reset e-mail went to 1 user" in text(sent)
    assert [message.to for message in mail.outbox] == [[customer.email]]


def test_a_superuser_sets_others_passwords_but_not_their_own_here(client):
    superuser = StaffFactory()
    sign_in_staff(client, superuser)

    own = client.get(reverse("admin:auth_user_password_change", args=[superuser.pk]))
    other = client.get(reverse("admin:auth_user_password_change", args=[UserFactory().pk]))

    assert (own.status_code, other.status_code) == (403, 200)


@pytest.fixture
def maker():
    return StaffFactory(is_superuser=False, permissions=GRANTER)


@pytest.fixture
def checker():
    return StaffFactory(is_superuser=False, permissions=CHECKER)


def test_a_request_does_not_post_once_its_maker_may_no_longer_grant(maker, checker, wallet):
    approval = staff_powers.staff_grant(
        wallet=wallet, amount=5000, reason="Big", staff=maker, idempotency_key=key()
    ).approval
    maker.is_staff = False
    maker.save(update_fields=["is_staff"])

    with pytest.raises(ApprovalRefused, match="may no longer grant"):
        staff_powers.approve(approval=approval, staff=checker)
    refused = staff_powers.refuse(approval=approval, staff=checker, reason="Maker left")

    assert refused.status == "refused"
    assert state(wallet)[0] == 0


def test_a_grant_whose_credits_expire_before_approval_could_come_is_refused(maker, wallet):
    soon = timezone.now() + timedelta(hours=10)

    with pytest.raises(InvalidRequest, match="expiry after"):
        staff_powers.staff_grant(
            wallet=wallet, amount=5000, reason="Big", staff=maker, idempotency_key=key(),
            expires_at=soon,
        )  # fmt: skip
    small = staff_powers.staff_grant(
        wallet=wallet, amount=50, reason="Small", staff=maker, idempotency_key=key(),
        expires_at=soon,
    )  # fmt: skip

    assert small.transaction is not None


def test_a_retried_request_with_other_terms_is_a_conflict(maker, wallet):
    same_key = key()
    staff_powers.staff_grant(
        wallet=wallet, amount=5000, reason="Big", staff=maker, idempotency_key=same_key
    )

    with pytest.raises(IdempotencyConflict):
        staff_powers.staff_grant(
            wallet=wallet, amount=5000, reason="Big", staff=maker, idempotency_key=same_key,
            promotional=False,
        )  # fmt: skip


def test_the_staff_api_closes_with_the_admin_when_two_factor_is_removed_in_the_session(wallet):
    staff = StaffFactory()
    api = Api(staff)
    assert api.get("admin/wallets").status_code == 200

    Authenticator.objects.filter(user=staff).delete()

    refused = api.get("admin/wallets")
    assert (refused.status_code, refused.json()["errors"][0]["code"]) == (
        403,
        "two_factor_required",
    )
    assert api.client.get(reverse("admin:index")).status_code == 302


def test_a_dispute_is_never_handled_by_the_staff_member_who_opened_it_and_each_step_is_logged():
    opener, colleague = StaffFactory(), StaffFactory()
    fund(opener.wallet, 100)
    spent = disputes.credits.spend(
        wallet=opener.wallet, amount=40, actor=ACTOR, idempotency_key=key()
    )
    dispute = disputes.open_dispute(
        user=opener, txn=spent, reason="not_delivered", description="Never came.", amount=40
    )

    with pytest.raises(DisputeError, match="opened it"):
        disputes.assign(dispute=dispute, assignee=opener, by=colleague)
    disputes.assign(dispute=dispute, assignee=colleague, by=colleague)
    disputes.request_information(dispute=dispute, staff=colleague, question="Which order?")

    kinds = list(StaffAction.objects.filter(staff=colleague).values_list("kind", flat=True))
    assert kinds == ["information_requested", "dispute_assigned"]


@pytest.fixture
def wallet():
    return UserFactory().wallet
