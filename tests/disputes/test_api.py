"""The disputes API, for users (their own only) and staff."""

import pytest

from credits import services as credits
from disputes.models import Dispute
from tests.clients import Api
from tests.credits.conftest import ACTOR, fund, key, state
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    user = UserFactory()
    fund(user.wallet, 500)
    return Api(user)


@pytest.fixture
def charge(api):
    return credits.spend(
        wallet=api.user.wallet, amount=80, description="Logo", actor=ACTOR, idempotency_key=key()
    )


def open_dispute(api, charge, **changes):
    body = {"transaction": charge.pk, "reason": "not_delivered", "description": "Never came.",
            "amount": 50, **changes}  # fmt: skip
    return api.post("disputes", body, idempotency_key=None)


def test_a_user_opens_reads_writes_and_escalates_a_dispute(api, charge):
    opened = open_dispute(api, charge)
    assert opened.status_code == 201
    dispute_id = opened.json()["id"]

    message = api.post(
        f"disputes/{dispute_id}/messages", {"body": "Any news?"}, idempotency_key=None
    )
    assert message.status_code == 201
    detail = api.get(f"disputes/{dispute_id}").json()
    assert [m["body"] for m in detail["messages"]] == ["Any news?"]
    assert len(api.get("disputes").json()["results"]) == 1

    too_early = api.post(f"disputes/{dispute_id}/escalate", idempotency_key=None)
    assert too_early.status_code == 422

    staff = Api(StaffFactory())
    staff.post(
        f"admin/disputes/{dispute_id}/reject", {"reason": "Delivered."}, idempotency_key=None
    )
    escalated = api.post(f"disputes/{dispute_id}/escalate", {"reason": "No."}, idempotency_key=None)
    assert (escalated.json()["status"], escalated.json()["level"]) == ("under_review", 2)


@pytest.mark.parametrize(
    ("changes", "status"),
    [({"amount": 81}, 422), ({"reason": "bored"}, 400), ({"transaction": 999999}, 400)],
)
def test_bad_disputes_are_refused_with_the_error_shape(api, charge, changes, status):
    response = open_dispute(api, charge, **changes)

    assert response.status_code == status
    assert set(response.json()) == {"type", "errors"}
    assert not Dispute.objects.exists()


def test_another_users_dispute_is_a_404_for_every_action(api, charge):
    dispute_id = open_dispute(api, charge).json()["id"]
    stranger = Api(UserFactory())

    assert stranger.get(f"disputes/{dispute_id}").status_code == 404
    assert (
        stranger.post(
            f"disputes/{dispute_id}/messages", {"body": "hi"}, idempotency_key=None
        ).status_code
        == 404
    )
    assert stranger.post(f"disputes/{dispute_id}/escalate", idempotency_key=None).status_code == 404
    assert stranger.get("disputes").json()["results"] == []


def test_staff_filter_the_queue_assign_and_resolve(api, charge):
    dispute_id = open_dispute(api, charge).json()["id"]
    staff = Api(StaffFactory(email="staff@example.com"))

    queue = staff.get("admin/disputes?status=open").json()
    assigned = staff.post(f"admin/disputes/{dispute_id}/assign", idempotency_key=None).json()
    too_much = staff.post(
        f"admin/disputes/{dispute_id}/resolve", {"amount": 60}, idempotency_key=None
    )
    resolved = staff.post(
        f"admin/disputes/{dispute_id}/resolve", {"amount": 50}, idempotency_key=None
    )

    assert [row["id"] for row in queue["results"]] == [dispute_id]
    assert assigned["assignee"] == "staff@example.com"
    assert too_much.status_code == 422
    assert resolved.json()["refunded"] == 50
    assert state(api.user.wallet)[0] == 470


def test_a_non_senior_cannot_resolve_a_level_2_dispute(api, charge):
    dispute_id = open_dispute(api, charge).json()["id"]
    senior = Api(StaffFactory())
    senior.post(f"admin/disputes/{dispute_id}/reject", {"reason": "No."}, idempotency_key=None)
    api.post(f"disputes/{dispute_id}/escalate", idempotency_key=None)
    junior = Api(StaffFactory(is_superuser=False, permissions=["disputes.change_dispute"]))

    response = junior.post(
        f"admin/disputes/{dispute_id}/resolve", {"amount": 10}, idempotency_key=None
    )

    assert response.status_code == 422
    assert "senior" in response.json()["errors"][0]["detail"]
    assert Dispute.objects.get(pk=dispute_id).status == "under_review"
