"""The credits API: every endpoint's success and error cases, and Idempotency-Key replays."""

import json

import pytest

from credits import services
from credits.actors import Actor
from credits.models import CreditTransaction, Hold, IdempotencyRecord
from tests.clients import Api
from tests.credits.conftest import ACTOR, fund, key, state
from tests.factories import StaffFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]


@pytest.fixture
def api():
    user = UserFactory(email="alice@example.com")
    fund(user.wallet, 1000)
    return Api(user)


def error_code(response) -> str:
    return response.json()["errors"][0]["code"]


def test_the_wallet_says_balance_available_held_status_and_expiring(api):
    fund(api.user.wallet, 50, days=5, source="promotion")
    services.hold(wallet=api.user.wallet, amount=100, actor=ACTOR, idempotency_key=key())

    body = api.get("wallet").json()

    assert (body["balance"], body["available"], body["held"], body["status"]) == (
        1050,
        950,
        100,
        "active",
    )
    assert body["expiring_soon"]["credits"] == 0  # the hold took the soonest-expiring first


def test_a_spend_returns_its_transaction_and_a_retry_replays_it(api):
    body = {"amount": 120, "description": "Logo design", "reference": "job-42"}

    first = api.post("spends", body, idempotency_key="spend-1")
    again = api.post("spends", body, idempotency_key="spend-1")

    assert first.status_code == 201
    assert (first.json()["kind"], first.json()["amount"]) == ("spend", 120)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert state(api.user.wallet)[0] == 880
    assert CreditTransaction.objects.filter(kind="spend").count() == 1


def test_the_same_key_with_another_body_is_a_409_in_the_error_shape(api):
    api.post("spends", {"amount": 1, "description": "a"}, idempotency_key="k")

    response = api.post("spends", {"amount": 2, "description": "a"}, idempotency_key="k")

    assert response.status_code == 409
    assert response.json()["type"] == "client_error"
    assert state(api.user.wallet)[0] == 999


def test_a_post_without_a_key_is_refused(api):
    response = api.post("spends", {"amount": 1, "description": "a"}, idempotency_key=None)

    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"][0]["detail"]
    assert state(api.user.wallet)[0] == 1000


def test_a_refusal_is_a_422_and_is_replayed_the_same(api):
    first = api.post("spends", {"amount": 5000, "description": "big"}, idempotency_key="big")
    fund(api.user.wallet, 10_000)
    again = api.post("spends", {"amount": 5000, "description": "big"}, idempotency_key="big")

    assert first.status_code == again.status_code == 422
    assert error_code(first) == "insufficient_credits"
    assert "1000 available" in first.json()["errors"][0]["detail"]
    assert again.json() == first.json()


def test_invalid_input_stores_nothing_so_the_corrected_request_may_reuse_its_key(api):
    invalid = api.post("spends", {"amount": 0, "description": "a"}, idempotency_key="fix-me")
    corrected = api.post("spends", {"amount": 7, "description": "a"}, idempotency_key="fix-me")
    replayed = api.post("spends", {"amount": 7, "description": "a"}, idempotency_key="fix-me")

    assert invalid.status_code == 400
    assert corrected.status_code == 201
    assert replayed.json() == corrected.json()
    assert state(api.user.wallet)[0] == 993


def test_an_unknown_hold_stores_nothing_under_the_key(api):
    missing = api.post("holds/999999/release", {}, idempotency_key="release-1")

    assert missing.status_code == 404
    assert not IdempotencyRecord.objects.filter(
        key="release-1", response_status__isnull=False
    ).exists()


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"amount": 0, "description": "x"}, "amount"),
        ({"amount": "ten", "description": "x"}, "amount"),
        ({"amount": 5}, "description"),
    ],
)
def test_bad_spend_input_is_a_400_naming_the_field(api, body, attr):
    response = api.post("spends", body)

    assert response.status_code == 400
    assert response.json()["type"] == "validation_error"
    assert response.json()["errors"][0]["attr"] == attr


def test_a_hold_is_captured_in_part_and_released(api):
    hold = api.post("holds", {"amount": 300, "description": "Translation job"}).json()
    assert (hold["status"], hold["uncaptured"]) == ("open", 300)

    captured = api.post(f"holds/{hold['id']}/capture", {"amount": 100, "final": False})
    released = api.post(f"holds/{hold['id']}/release")
    again = api.post(f"holds/{hold['id']}/release")

    assert captured.status_code == 200
    assert captured.json()["amount"] == 100
    assert released.json()["amount"] == 200
    assert (again.status_code, error_code(again)) == (422, "hold_not_open")
    assert Hold.objects.get(pk=hold["id"]).status == "released"
    assert state(api.user.wallet) == (900, 0, 900)


def test_a_hold_placed_by_a_partner_app_is_settled_only_by_that_app(api):
    app = Actor.for_app(7, "Copywriting app")
    job = services.hold(wallet=api.user.wallet, amount=300, description="Website copy job",
                        actor=app, idempotency_key=key()).hold  # fmt: skip

    captured = api.post(f"holds/{job.pk}/capture", {"amount": 1})
    released = api.post(f"holds/{job.pk}/release")
    by_the_app = services.release(hold=job, actor=app, idempotency_key=key())

    assert (captured.status_code, error_code(captured)) == (422, "hold_not_yours")
    assert (released.status_code, error_code(released)) == (422, "hold_not_yours")
    assert "placed by Copywriting app" in released.json()["errors"][0]["detail"]
    assert by_the_app.amount == 300
    assert state(api.user.wallet) == (1000, 0, 1000)


def test_another_users_hold_is_not_found(api):
    other = UserFactory()
    fund(other.wallet, 10)
    hold = services.hold(wallet=other.wallet, amount=5, actor=ACTOR, idempotency_key=key()).hold

    assert api.post(f"holds/{hold.pk}/capture").status_code == 404
    assert api.post(f"holds/{hold.pk}/release").status_code == 404


def test_a_transfer_moves_paid_credits(api):
    bob = UserFactory(email="bob@example.com")

    response = api.post("transfers", {"receiver_email": "BOB@example.com", "amount": 40})
    unknown = api.post("transfers", {"receiver_email": "nobody@example.com", "amount": 40})

    assert response.status_code == 201
    assert state(bob.wallet)[0] == 40
    assert unknown.status_code == 400
    assert unknown.json()["errors"][0]["attr"] == "receiver_email"


def test_transactions_are_cursor_paginated_and_filtered(api):
    for index in range(3):
        services.spend(wallet=api.user.wallet, amount=1, description=f"s{index}", actor=ACTOR,
                       idempotency_key=key())  # fmt: skip

    first = api.get("transactions?page_size=2").json()
    second = api.client.get(first["next"], **api.headers).json()
    grants = api.get("transactions?kind=grant").json()

    assert [row["description"] for row in first["results"]] == ["s2", "s1"]
    assert [row["description"] for row in second["results"]] == ["s0", ""] or len(
        second["results"]
    ) == 2
    assert [row["kind"] for row in grants["results"]] == ["grant"]
    assert first["results"][0]["entry"]["balance_after"] == 997


def test_a_transaction_shows_its_blocks_and_refunds_and_others_are_not_found(api):
    txn = services.spend(wallet=api.user.wallet, amount=30, actor=ACTOR, idempotency_key=key())
    services.refund(transaction=txn, amount=10, actor=ACTOR, idempotency_key=key())
    other = UserFactory()
    fund(other.wallet, 5)

    body = api.get(f"transactions/{txn.pk}").json()

    assert body["allocations"][0]["amount"] == 30
    assert body["allocations"][0]["grant"]["kind"] == "paid"
    assert [refund["amount"] for refund in body["refunds"]] == [10]
    assert api.get(f"transactions/{other.wallet.grants.get().transaction_id}").status_code == 404


def test_a_transfers_receiver_sees_none_of_the_senders_credit_blocks(api):
    sender = UserFactory()
    fund(sender.wallet, 100)
    txn = services.transfer(sender=sender.wallet, receiver=api.user.wallet, amount=40,
                            actor=ACTOR, idempotency_key=key())  # fmt: skip

    as_receiver = api.get(f"transactions/{txn.pk}").json()
    as_sender = Api(sender).get(f"transactions/{txn.pk}").json()

    assert as_receiver["amount"] == 40
    assert as_receiver["allocations"] == []
    assert [allocation["amount"] for allocation in as_sender["allocations"]] == [40]


def test_grants_are_listed_in_burn_down_order(api):
    fund(api.user.wallet, 20, days=3, source="promotion")

    body = api.get("grants").json()

    assert [grant["kind"] for grant in body["results"]] == ["promotional", "paid"]


def test_a_statement_ending_after_today_is_a_400_naming_the_field(api):
    response = api.get("statements?from=9999-12-31&to=9999-12-31")

    assert response.status_code == 400
    assert response.json()["errors"][0]["attr"] == "to"


def test_a_page_size_in_superscript_digits_is_a_400(api):
    assert api.get("transactions?page_size=²").status_code == 400


def test_statements_come_as_json_or_csv(api):
    services.spend(wallet=api.user.wallet, amount=25, description="job", actor=ACTOR,
                   idempotency_key=key())  # fmt: skip
    from django.utils import timezone

    today = timezone.localdate().isoformat()
    as_json = api.get(f"statements?from={today}&to={today}")
    as_csv = api.get(f"statements?from={today}&to={today}", HTTP_ACCEPT="text/csv")
    bad = api.get(f"statements?from={today}&to=2000-01-01")

    body = json.loads(b"".join(as_json.streaming_content))
    assert (body["opening_balance"], body["closing_balance"]) == (0, 975)
    assert [m["amount"] for m in body["movements"]] == [1000, -25]
    assert b"Closing balance,975" in b"".join(as_csv.streaming_content)
    assert bad.status_code == 400


def test_staff_endpoints_refuse_ordinary_users(api):
    assert api.get("admin/wallets").status_code == 403
    assert (
        api.post(
            f"admin/wallets/{api.user.wallet.pk}/grants", {"amount": 5, "reason": "x"}
        ).status_code
        == 403
    )


def test_staff_find_wallets_grant_deduct_and_freeze(api):
    staff = Api(StaffFactory())
    wallet_id = api.user.wallet.pk

    found = staff.get("admin/wallets?search=alice").json()
    granted = staff.post(f"admin/wallets/{wallet_id}/grants", {"amount": 100, "reason": "Apology"})
    deducted = staff.post(f"admin/wallets/{wallet_id}/deductions", {"amount": 30, "reason": "Dup"})
    frozen = staff.post(
        f"admin/wallets/{wallet_id}/status", {"action": "freeze", "reason": "Review"}
    )
    no_reason = staff.post(f"admin/wallets/{wallet_id}/status", {"action": "unfreeze"})

    assert [row["email"] for row in found["results"]] == ["alice@example.com"]
    assert granted.status_code == deducted.status_code == 201
    assert frozen.json()["status"] == "frozen"
    assert no_reason.status_code == 400
    assert state(api.user.wallet)[0] == 1070
    spend = api.post("spends", {"amount": 1, "description": "x"})
    assert (spend.status_code, error_code(spend)) == (422, "wallet_not_active")


def test_stored_responses_are_scoped_to_their_caller(api):
    other = Api(UserFactory())
    fund(other.user.wallet, 10)

    api.post("spends", {"amount": 1, "description": "x"}, idempotency_key="same")
    other.post("spends", {"amount": 1, "description": "x"}, idempotency_key="same")

    assert IdempotencyRecord.objects.filter(key="same", response_status__isnull=False).count() == 2
    assert state(other.user.wallet)[0] == 9
