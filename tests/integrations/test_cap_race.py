"""The spending cap a user gave an app: counted under the wallet's lock, so charges racing each
other never take the app past it (Shopify's capped charges once overran by $15.75), and exact at
its edges: a hold counts once whether captured or not, a release gives room back, a refund does
not, a lower cap applies at once, and a refused charge stays refused under its key."""

import random
import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from credits.models import CreditTransaction
from credits.reconciliation import reconcile
from integrations.services import caps, consents
from tests.credits.conftest import fund
from tests.factories import UserFactory
from tests.integrations.partner_calls import PartnerApi, approved_app, code
from tests.threads import at_once

CHARGING = "credits:read credits:spend credits:hold credits:refund"
LEFT = re.compile(r"(\d+) credits are left")


def charged(api) -> int:
    """What the app took or holds from the user's wallet in the cap's window (its own count)."""
    return caps.used(app_id=api.app.pk, wallet_id=api.user.wallet.pk)


def left_in(refusal) -> int:
    assert (refusal.status_code, code(refusal)) == (422, "cap_exceeded"), refusal.content
    return int(LEFT.search(refusal.json()["errors"][0]["detail"])[1])


def spend(api, amount: int, **options):
    return api.post("spends", {"amount": amount, "description": "Translation"}, **options)


def hold(api, amount: int, **options):
    return api.post("holds", {"amount": amount, "description": "Translation"}, **options)


# --- the race (PostgreSQL) ----------------------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="row-lock concurrency needs PostgreSQL (DATABASE_URL); SQLite serialises writers",
)
@pytest.mark.django_db(transaction=True)
def test_twenty_concurrent_spends_and_holds_never_pass_the_cap(record_property):
    user = UserFactory()
    fund(user.wallet, 100_000)
    cap = 100
    api = PartnerApi(approved_app(cap=1_000), user, CHARGING, cap=cap)
    draws = random.Random(15)
    requests = [
        ("spends" if index % 2 == 0 else "holds", draws.randint(5, 30)) for index in range(20)
    ]

    def run(index: int):
        path, amount = requests[index]
        return api.post(path, {"amount": amount, "description": "Race"})

    answers = at_once(len(requests), run)

    succeeded = [amount for (_p, amount), a in zip(requests, answers, strict=True)
                 if a.status_code == 201]  # fmt: skip
    refused = [(amount, left_in(a)) for (_p, amount), a in zip(requests, answers, strict=True)
               if a.status_code != 201]  # fmt: skip
    total = sum(succeeded)
    figures = {"requests": len(requests), "succeeded": len(succeeded), "refused": len(refused),
               "charged": total, "cap": cap, "asked": sum(a for _p, a in requests)}  # fmt: skip
    record_property("cap_race", figures)
    print(f"cap race: {figures}")

    assert total <= cap
    assert charged(api) == total
    assert refused, "the requests asked for more than the cap: some must be refused"
    # The room left only shrinks during the race, so every refused request truly did not fit:
    # the cap was neither passed nor refused early.
    assert all(amount > left >= cap - total for amount, left in refused)
    assert CreditTransaction.objects.filter(actor_app_id=api.app.pk).count() == len(succeeded)
    assert reconcile().problems == []


# --- its edges ----------------------------------------------------------------------------------


@pytest.fixture
def api(db):
    user = UserFactory()
    fund(user.wallet, 10_000)
    return PartnerApi(approved_app(cap=1_000), user, CHARGING, cap=100)


@pytest.mark.usefixtures("ledger_reconciles")
class TestTheCapsEdges:
    def test_the_cap_is_reached_exactly_and_not_passed(self, api):
        assert spend(api, 60).status_code == 201
        assert hold(api, 40).status_code == 201

        refused = spend(api, 1)

        assert left_in(refused) == 0
        assert "spending cap of 100 credits per 30 days" in refused.json()["errors"][0]["detail"]
        assert charged(api) == 100

    def test_a_charge_one_past_what_is_left_is_refused_saying_what_is_left(self, api):
        spend(api, 70)

        refused = hold(api, 31)

        assert left_in(refused) == 30
        assert spend(api, 30).status_code == 201

    def test_captures_count_once_with_the_hold_they_come_from(self, api):
        placed = hold(api, 80).json()["id"]
        assert (
            api.post(f"holds/{placed}/capture", {"amount": 50, "final": False}).status_code == 200
        )
        assert charged(api) == 80  # 50 captured + 30 still held
        assert api.post(f"holds/{placed}/capture", {"amount": 30}).status_code == 200
        assert charged(api) == 80

        assert spend(api, 20).status_code == 201
        assert left_in(spend(api, 1)) == 0

    def test_a_final_capture_of_part_gives_the_rest_back_to_the_cap(self, api):
        placed = hold(api, 100).json()["id"]

        api.post(f"holds/{placed}/capture", {"amount": 30})

        assert charged(api) == 30
        assert spend(api, 70).status_code == 201

    def test_a_released_hold_gives_its_room_back(self, api):
        placed = hold(api, 100).json()["id"]
        assert left_in(spend(api, 1)) == 0

        assert api.post(f"holds/{placed}/release", {}).status_code == 200

        assert spend(api, 100).status_code == 201

    def test_a_refund_gives_no_room_back(self, api):
        charge = spend(api, 100).json()["id"]

        refunded = api.post(f"transactions/{charge}/refunds", {"reason": "Cancelled"})

        assert refunded.status_code == 201
        assert left_in(spend(api, 1)) == 0

    def test_a_lower_cap_applies_at_once_and_a_new_consent_sets_another(self, api):
        spend(api, 50)

        consents.give(app=api.app, user=api.user, scope_names=CHARGING, cap=40)
        lowered = spend(api, 1)
        consents.give(app=api.app, user=api.user, scope_names=CHARGING, cap=60)
        raised = spend(api, 10)

        assert left_in(lowered) == 0
        assert raised.status_code == 201
        assert left_in(spend(api, 1)) == 0

    def test_charges_older_than_thirty_days_no_longer_count(self, api):
        with time_machine.travel(timezone.now() - timedelta(days=31)):
            assert spend(api, 100).status_code == 201

        assert spend(api, 100).status_code == 201
        assert left_in(spend(api, 1)) == 0

    def test_a_refused_charge_replayed_under_its_key_is_the_same_refusal(self, api):
        placed = hold(api, 100).json()["id"]
        refused = spend(api, 10, idempotency_key="charge-1")
        api.post(f"holds/{placed}/release", {})  # room now, but the key was answered

        again = spend(api, 10, idempotency_key="charge-1")

        assert again.status_code == 422
        assert again["Idempotent-Replayed"] == "true"
        assert again.content == refused.content
        assert charged(api) == 0
