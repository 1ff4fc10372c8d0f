"""`manage.py idempotency_prune`: keys older than the retention are forgotten, without ever
letting one spend twice; keys inside it still replay."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone

from credits import services
from credits.actors import Actor
from credits.errors import InsufficientCredits
from credits.models import CreditTransaction, IdempotencyRecord
from credits.services import Reference
from tests.clients import Api
from tests.credits.conftest import fund, state
from tests.factories import UserFactory
from tests.processes import manage

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]

LOGO = {"amount": 100, "description": "Logo"}


@pytest.fixture
def api():
    user = UserFactory()
    fund(user.wallet, 1000)
    return Api(user)


def prune(*args: str) -> str:
    out = StringIO()
    call_command("idempotency_prune", *args, stdout=out)
    return out.getvalue()


def days_later(days: int):
    return time_machine.travel(timezone.now() + timedelta(days=days), tick=False)


def spends(api) -> int:
    return CreditTransaction.objects.filter(wallet=api.user.wallet, kind="spend").count()


def test_a_key_pruned_after_its_spend_is_refused_and_never_spends_twice(api):
    first = api.post("spends", LOGO, idempotency_key="logo")
    assert first.status_code == 201

    with days_later(31):
        output = prune()
        retried = api.post("spends", LOGO, idempotency_key="logo")
        changed = api.post("spends", {**LOGO, "amount": 5}, idempotency_key="logo")

    assert "Let go of 1 kept API answer and deleted 0 records of requests" in output
    assert not IdempotencyRecord.objects.filter(response_status__isnull=False).exists()
    for refused in (retried, changed):
        assert refused.status_code == 409
        [error] = refused.json()["errors"]
        assert error["code"] == "idempotency_key_expired"
        assert "not run again: nothing was done" in error["detail"]
    assert state(api.user.wallet)[0] == 900
    assert spends(api) == 1
    # The ledger kept the key's record with its transaction: even asked directly, it replays.
    again = services.spend(
        wallet=api.user.wallet,
        amount=100,
        description="Logo",
        reference=Reference(text=""),
        actor=Actor.for_user(api.user),
        idempotency_key="logo",
    )
    assert again.pk == first.json()["id"]
    assert spends(api) == 1


def test_keys_inside_the_retention_still_replay(api):
    first = api.post("spends", LOGO, idempotency_key="logo")

    with days_later(29):
        output = prune("--older-than", "30d")
        replayed = api.post("spends", LOGO, idempotency_key="logo")

    assert "Let go of 0 kept API answers" in output
    assert replayed.status_code == 201
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json() == first.json()
    assert spends(api) == 1


def test_a_shorter_retention_prunes_sooner_and_a_newer_key_still_replays(api):
    api.post("spends", LOGO, idempotency_key="old")
    with days_later(5):
        newer = api.post("spends", {**LOGO, "amount": 7}, idempotency_key="newer")

    with days_later(7):
        output = prune("--older-than", "72h")
        old_again = api.post("spends", LOGO, idempotency_key="old")
        newer_again = api.post("spends", {**LOGO, "amount": 7}, idempotency_key="newer")

    assert "Let go of 1 kept API answer" in output
    assert old_again.status_code == 409
    assert (newer_again.status_code, newer_again.json()) == (201, newer.json())
    assert state(api.user.wallet)[0] == 893


def test_a_refused_key_is_forgotten_and_then_runs_as_a_new_request_once(api):
    refused = api.post("spends", {**LOGO, "amount": 5000}, idempotency_key="big")
    assert refused.status_code == 422
    with pytest.raises(InsufficientCredits):  # a page's key, straight to the ledger
        services.spend(
            wallet=api.user.wallet, amount=5000, actor=Actor.for_user(api.user), idempotency_key="p"
        )
    fund(api.user.wallet, 10_000)

    with days_later(31):
        output = prune()
        spent = api.post("spends", {**LOGO, "amount": 5000}, idempotency_key="big")
        again = api.post("spends", {**LOGO, "amount": 5000}, idempotency_key="big")
        services.spend(
            wallet=api.user.wallet, amount=5000, actor=Actor.for_user(api.user), idempotency_key="p"
        )

    assert "Let go of 0 kept API answers and deleted 2 records of requests that moved" in output
    assert (spent.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert state(api.user.wallet)[0] == 1000
    assert spends(api) == 2


def test_a_dry_run_counts_and_deletes_nothing(api):
    api.post("spends", LOGO, idempotency_key="logo")
    api.post("spends", {**LOGO, "amount": 5000}, idempotency_key="big")

    with days_later(31):
        output = prune("--dry-run")

    assert output.startswith("Would let go of 1 kept API answer and would delete 1 record")
    assert IdempotencyRecord.objects.filter(response_status__isnull=False).count() == 2


@pytest.mark.parametrize("value", ["30", "30m", "0d", "12h", "-1d", "thirty", "1.5d", "999999d"])
def test_a_bad_age_is_refused_in_one_line(value):
    with pytest.raises(CommandError) as refused:
        prune(f"--older-than={value}")

    assert str(refused.value) == (
        "--older-than must be an age such as 30d (days) or 36h (hours), at least 1d "
        f"(got {value!r})"
    )


def test_a_bad_age_stops_the_command_with_a_non_zero_exit_and_one_line():
    result = manage("idempotency_prune", "--older-than", "30m", DEBUG="true")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "CommandError: --older-than must be an age such as 30d (days) or 36h (hours), at "
        "least 1d (got '30m')"
    ]
