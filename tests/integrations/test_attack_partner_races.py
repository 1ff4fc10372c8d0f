"""Races a partner app could start on PostgreSQL to make or lose credits: the same refund, the
same capture, partial captures of one hold and one idempotency key, each sent ten times at
once. None may move more than the charge or the hold allows, and the ledger must reconcile."""

import pytest
from django.db import connection

from credits.models import CreditTransaction
from credits.reconciliation import reconcile
from tests.credits.conftest import fund
from tests.factories import UserFactory
from tests.integrations.partner_calls import PartnerApi, approved_app
from tests.threads import at_once

CHARGING = "credits:read credits:spend credits:hold credits:refund"
N = 10

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row-lock concurrency needs PostgreSQL (DATABASE_URL); SQLite serialises writers",
    ),
    pytest.mark.django_db(transaction=True),
]


def _statuses(answers) -> list:
    return sorted(getattr(a, "status_code", repr(a)) for a in answers)


@pytest.fixture
def api():
    user = UserFactory()
    fund(user.wallet, 10_000)
    return PartnerApi(approved_app(cap=5_000), user, CHARGING, cap=5_000)


def _sum(api, kind) -> int:
    rows = CreditTransaction.objects.filter(wallet=api.user.wallet, kind=kind)
    return sum(row.amount for row in rows)


def test_ten_refunds_of_one_charge_at_once_refund_it_at_most_once(api):
    assert api.post("spends", {"amount": 100, "description": "x"}).status_code == 201
    charge = CreditTransaction.objects.get(wallet=api.user.wallet, kind="spend")

    answers = at_once(
        N, lambda i: api.post(f"transactions/{charge.pk}/refunds", {"amount": 60, "reason": "r"})
    )

    assert _statuses(answers).count(201) == 1, _statuses(answers)
    assert all(getattr(a, "status_code", 500) < 500 for a in answers), _statuses(answers)
    assert _sum(api, "refund") == 60
    assert reconcile().problems == []


def test_ten_final_captures_of_one_hold_at_once_capture_it_once(api):
    hold_id = api.post("holds", {"amount": 100, "description": "x"}).json()["id"]

    answers = at_once(N, lambda i: api.post(f"holds/{hold_id}/capture", {}))

    assert _statuses(answers).count(200) == 1, _statuses(answers)
    assert all(getattr(a, "status_code", 500) < 500 for a in answers), _statuses(answers)
    assert _sum(api, "capture") == 100
    assert reconcile().problems == []


def test_ten_partial_captures_of_one_hold_at_once_never_pass_it(api):
    hold_id = api.post("holds", {"amount": 100, "description": "x"}).json()["id"]

    answers = at_once(
        N, lambda i: api.post(f"holds/{hold_id}/capture", {"amount": 30, "final": False})
    )

    assert _statuses(answers).count(200) == 3, _statuses(answers)
    assert all(getattr(a, "status_code", 500) < 500 for a in answers), _statuses(answers)
    assert _sum(api, "capture") == 90
    api.user.wallet.refresh_from_db()
    assert (api.user.wallet.balance, api.user.wallet.held) == (10_000 - 90, 10)
    assert reconcile().problems == []


def test_one_idempotency_key_sent_ten_times_at_once_spends_once(api):
    answers = at_once(
        N, lambda i: api.post("spends", {"amount": 100, "description": "x"}, idempotency_key="same")
    )

    assert all(getattr(a, "status_code", 500) < 500 for a in answers), _statuses(answers)
    assert _sum(api, "spend") == 100
    api.user.wallet.refresh_from_db()
    assert api.user.wallet.balance == 9_900
    assert reconcile().problems == []
