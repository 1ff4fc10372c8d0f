"""Attacks on the one-call operations (credits_take, credits_settle, credits_transfer):
concurrency on one hot wallet and one hold, keys racing, outer transactions, a lock held
elsewhere, the API's stand-ins, and the events they write."""

import dataclasses
import threading

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, connection, transaction

from credits import services, thresholds
from credits.errors import (
    HoldNotOpen,
    IdempotencyConflict,
    InsufficientCredits,
    TransferLimitExceeded,
)
from credits.models import CreditTransaction, IdempotencyRecord, Wallet
from credits.reconciliation import reconcile
from credits.services import one_call
from events.models import Event
from tests.clients import Api
from tests.credits.conftest import ACTOR, fund, key, state
from tests.factories import UserFactory
from tests.threads import at_once

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the ledger's functions are PostgreSQL's"
    ),
    pytest.mark.usefixtures("everyone_listens"),
]


def spend(wallet, amount, idempotency_key=None, **options):
    return services.spend(
        wallet=wallet,
        amount=amount,
        actor=ACTOR,
        idempotency_key=idempotency_key or key(),
        **options,
    )


def spent_events(wallet) -> list[Event]:
    return list(Event.objects.filter(type="credits.spent", user_id=wallet.user_id))


def with_threshold(wallet, threshold: int) -> None:
    wallet.refresh_from_db()
    wallet.alerts = [thresholds.fresh(threshold, wallet.available)]
    wallet.save(update_fields=["alerts"])


@pytest.mark.django_db(transaction=True)
def test_a_hot_wallet_crossing_a_threshold_under_racing_spends_alerts_once():
    wallet = UserFactory().wallet
    fund(wallet, 100)
    with_threshold(wallet, 55)

    results = at_once(16, lambda i: spend(wallet, 10))

    done = [r for r in results if isinstance(r, CreditTransaction)]
    refused = [r for r in results if isinstance(r, InsufficientCredits)]
    assert (len(done), len(refused)) == (10, 6), results
    assert state(wallet) == (0, 0, 0)
    assert len(spent_events(wallet)) == 10
    assert Event.objects.filter(type="balance.low", user_id=wallet.user_id).count() == 1
    assert wallet.alerts[0]["state"] == "below"
    assert reconcile().problems == []


@pytest.mark.django_db(transaction=True)
def test_one_key_racing_where_the_function_hands_back_makes_one_transaction():
    wallet = UserFactory().wallet
    fund(wallet, 100)
    with_threshold(wallet, 95)  # the first spend crosses it: handed back to Python

    results = at_once(12, lambda i: spend(wallet, 10, "the-key"))

    assert all(isinstance(r, CreditTransaction) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert state(wallet) == (90, 0, 90)
    assert len(spent_events(wallet)) == 1
    assert reconcile().problems == []


@pytest.mark.django_db(transaction=True)
def test_a_key_racing_between_the_function_and_python_makes_one_transaction():
    wallet = UserFactory().wallet
    fund(wallet, 100)
    # The same caller (same scope), but with a cap that allows all: its spends go to Python.
    capped = dataclasses.replace(ACTOR, charge_limit=lambda *args: None)

    def run(index):
        actor = capped if index % 2 else ACTOR
        return services.spend(wallet=wallet, amount=7, actor=actor, idempotency_key="shared")

    results = at_once(12, run)

    assert all(isinstance(r, CreditTransaction) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert state(wallet) == (93, 0, 93)
    assert len(spent_events(wallet)) == 1
    assert reconcile().problems == []


@pytest.mark.django_db
def test_the_key_of_a_function_spend_replayed_with_other_params_is_a_conflict():
    wallet = UserFactory().wallet
    fund(wallet, 100)
    first = spend(wallet, 10, "k")
    assert spend(wallet, 10, "k").pk == first.pk
    with pytest.raises(IdempotencyConflict):
        spend(wallet, 11, "k")
    with pytest.raises(IdempotencyConflict):
        spend(wallet, 10, "k", description="other")
    assert state(wallet) == (90, 0, 90)
    assert len(spent_events(wallet)) == 1


@pytest.mark.django_db
def test_a_spend_in_an_outer_transaction_that_rolls_back_leaves_nothing():
    wallet = UserFactory().wallet
    fund(wallet, 100)
    events = Event.objects.count()

    def spend_then_fail():
        with transaction.atomic():
            spend(wallet, 10, "rolled")
            assert state(wallet) == (90, 0, 90)
            raise RuntimeError

    with pytest.raises(RuntimeError):
        spend_then_fail()
    assert state(wallet) == (100, 0, 100)
    assert Event.objects.count() == events
    assert not IdempotencyRecord.objects.filter(key="rolled").exists()
    assert spend(wallet, 10, "rolled").amount == 10  # the key is free again
    assert reconcile().problems == []


@pytest.mark.django_db
def test_a_hand_back_inside_an_outer_transaction_leaves_it_usable():
    wallet = UserFactory().wallet
    fund(wallet, 100)
    with_threshold(wallet, 85)
    with transaction.atomic():
        spend(wallet, 10)  # the function
        spend(wallet, 10)  # crosses 85: handed back, Python in the same transaction
        with pytest.raises(InsufficientCredits):
            spend(wallet, 1000)  # handed back, refused and kept
        spend(wallet, 10)  # the function again
        assert Wallet.objects.get(pk=wallet.pk).balance == 70
    assert state(wallet) == (70, 0, 70)
    assert len(spent_events(wallet)) == 3
    assert Event.objects.filter(type="balance.low", user_id=wallet.user_id).count() == 1
    assert reconcile().problems == []


@pytest.mark.django_db(transaction=True)
def test_a_spend_waiting_past_the_lock_timeout_writes_nothing_and_frees_its_key():
    wallet = UserFactory().wallet
    fund(wallet, 100)
    locked, release = threading.Event(), threading.Event()

    def hold_the_lock():
        try:
            with transaction.atomic():
                Wallet.objects.select_for_update().get(pk=wallet.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    assert locked.wait(10)
    with connection.cursor() as cursor:
        cursor.execute("SET lock_timeout = '200ms'")
    try:
        with pytest.raises(DatabaseError) as caught:
            spend(wallet, 10, "busy")
        assert getattr(caught.value.__cause__, "sqlstate", None) == "55P03"
    finally:
        release.set()
        holder.join(10)
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert not IdempotencyRecord.objects.filter(key="busy").exists()
    assert spend(wallet, 10, "busy").amount == 10
    assert state(wallet) == (90, 0, 90)
    assert len(spent_events(wallet)) == 1


FIXED = {
    "transaction_id": -300000000000000042,
    "hold_id": -400000000000000042,
    "balance": -700000000000000042,
    "held": 700000000000000043,
    "available": -1400000000000000085,
}


TIMED = ("id", "created_at", "expires_at")  # differ between the two runs


@pytest.mark.django_db
@pytest.mark.parametrize("endpoint", ["spends", "holds"])
@pytest.mark.parametrize("figure", sorted(FIXED))
def test_a_caller_text_holding_a_stand_in_is_answered_as_python_answers(
    endpoint, figure, monkeypatch, settings
):
    """Whatever the caller's own text holds, the API's answer is the Python rules' bytes."""
    monkeypatch.setattr(one_call, "_stand_ins", lambda: dict(FIXED))
    bodies = {}
    for functions in (True, False):
        settings.CREDITS_LEDGER_FUNCTIONS = functions
        user = UserFactory()
        fund(user.wallet, 100)
        body = {"amount": 10, "description": f"n {FIXED[figure]}", "reference": "r"}
        answer = Api(user).post(endpoint, body, idempotency_key="k")
        again = Api(user).post(endpoint, body, idempotency_key="k")
        assert answer.status_code == 201, answer.content
        assert again.content == answer.content
        data = answer.json()
        bodies[functions] = {name: value for name, value in data.items() if name not in TIMED}
        assert data["description"] == f"n {FIXED[figure]}"
    assert bodies[True] == bodies[False]
    if endpoint == "spends":
        assert (bodies[True]["balance"], bodies[True]["available"]) == (90, 90)


@pytest.mark.django_db
@pytest.mark.parametrize("operation", ["capture", "transfer"])
@pytest.mark.parametrize("figure", sorted(FIXED))
def test_a_settlement_or_transfer_text_holding_a_stand_in_is_answered_as_python_answers(
    operation, figure, monkeypatch, settings
):
    monkeypatch.setattr(one_call, "_stand_ins", lambda: dict(FIXED))
    bodies = {}
    for functions in (True, False):
        settings.CREDITS_LEDGER_FUNCTIONS = functions
        user, receiver = UserFactory(), UserFactory()
        fund(user.wallet, 100)
        api = Api(user)
        text = f"n {FIXED[figure]}"
        if operation == "capture":
            placed = api.post("holds", {"amount": 10, "description": "plain"}, idempotency_key="h")
            path = f"holds/{placed.json()['id']}/capture"
            body = {"amount": 4, "description": text, "metadata": {"note": text}}
        else:
            path = "transfers"
            body = {"amount": 4, "receiver_email": receiver.email, "description": text}
        answer = api.post(path, body, idempotency_key="k")
        again = api.post(path, body, idempotency_key="k")
        assert answer.status_code in (200, 201), answer.content
        assert again.content == answer.content
        data = answer.json()
        assert data["description"] == text
        bodies[functions] = {
            name: value for name, value in data.items() if name not in (*TIMED, "hold", "metadata")
        }
    assert bodies[True] == bodies[False]
    # A capture of 4 closes the hold (final by default): the other 6 come back.
    assert (bodies[True]["balance"], bodies[True]["available"]) == (96, 96)


# --- captures, releases and transfers (credits_settle, credits_transfer) --------------------


@pytest.mark.django_db
@pytest.mark.parametrize("microseconds", [0, 500, 123456, 999999])
def test_a_transfers_event_dates_the_receivers_credits_as_python_writes_them(
    settings, microseconds
):
    """The receiver's event says when its new credits first expire, in the text the events'
    JSON encoder writes: the function makes that text itself, to the millisecond, cut."""
    written = {}
    for functions in (True, False):
        settings.CREDITS_LEDGER_FUNCTIONS = functions
        sender, receiver = UserFactory(), UserFactory()
        grant = fund(sender.wallet, 10, days=3)
        grant.expires_at = grant.expires_at.replace(microsecond=microseconds)
        grant.save(update_fields=["expires_at"])
        fund(sender.wallet, 10, days=5)
        services.transfer(
            sender=sender.wallet,
            receiver=receiver.wallet,
            amount=15,
            actor=ACTOR,
            idempotency_key=key(),
        )
        (event,) = Event.objects.filter(type="transfer.received", user_id=receiver.pk)
        written[functions] = event.data["expires_at"]
    assert written[True] == written[False]
    assert written[True] == DjangoJSONEncoder().default(grant.expires_at)


@pytest.mark.django_db(transaction=True)
def test_captures_of_one_hold_racing_from_stale_copies_capture_it_once():
    """Each thread settles the hold as it read it, before any settled it: the function must
    see, under the lock, that it is no longer so, and let the Python rules decide."""
    wallet = UserFactory().wallet
    fund(wallet, 100)
    placed = services.hold(wallet=wallet, amount=40, actor=ACTOR, idempotency_key=key()).hold

    def capture(index):
        return services.capture(
            hold=placed, amount=10, final=False, actor=ACTOR, idempotency_key=f"c{index}"
        )

    outcomes = at_once(6, capture)

    captured = [outcome for outcome in outcomes if isinstance(outcome, CreditTransaction)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, HoldNotOpen)]
    assert (len(captured), len(refused)) == (4, 2), outcomes
    placed.refresh_from_db()
    assert (placed.captured_amount, placed.status) == (40, "captured")
    assert state(wallet) == (60, 0, 60)
    assert reconcile().problems == []


@pytest.mark.django_db(transaction=True)
def test_a_capture_racing_a_release_of_one_hold_settles_it_once():
    wallet = UserFactory().wallet
    fund(wallet, 100)
    placed = services.hold(wallet=wallet, amount=40, actor=ACTOR, idempotency_key=key()).hold

    def settle(index):
        if index % 2:
            return services.release(hold=placed, actor=ACTOR, idempotency_key=f"r{index}")
        return services.capture(hold=placed, actor=ACTOR, idempotency_key=f"c{index}")

    outcomes = at_once(6, settle)

    done = [outcome for outcome in outcomes if isinstance(outcome, CreditTransaction)]
    assert len(done) == 1, outcomes
    assert all(isinstance(outcome, HoldNotOpen) for outcome in outcomes if outcome not in done)
    placed.refresh_from_db()
    expected = (60, 0, 60) if done[0].kind == "capture" else (100, 0, 100)
    assert state(wallet) == expected
    assert placed.status == ("captured" if done[0].kind == "capture" else "released")
    assert reconcile().problems == []


@pytest.mark.django_db(transaction=True)
def test_transfers_racing_the_daily_limit_send_no_more_than_it(settings):
    """Four transfers of 30 at once under a limit of 70: two go, two are refused; the sum
    sent is read under the sender's lock, so none slips past it."""
    settings.CREDITS_DAILY_TRANSFER_LIMIT = 70
    sender, receiver = UserFactory(), UserFactory()
    fund(sender.wallet, 200)

    def send(index):
        return services.transfer(
            sender=sender.wallet,
            receiver=receiver.wallet,
            amount=30,
            actor=ACTOR,
            idempotency_key=f"t{index}",
        )

    outcomes = at_once(4, send)

    sent = [outcome for outcome in outcomes if isinstance(outcome, CreditTransaction)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, TransferLimitExceeded)]
    assert (len(sent), len(refused)) == (2, 2), outcomes
    assert state(sender.wallet) == (140, 0, 140)
    assert state(receiver.wallet) == (60, 0, 60)
    assert reconcile().problems == []
