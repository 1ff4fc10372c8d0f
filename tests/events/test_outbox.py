"""The outbox: events are written in the transaction of the change, only when someone
listens, and dispatched once to every channel."""

import pytest
from django.db import transaction

from credits import services
from credits.errors import InsufficientCredits
from events.dispatch import dispatch_pending, register_channel, remove_channel
from events.models import Event
from events.outbox import Audience, announce, register_audience, remove_audience
from tests.credits.conftest import ACTOR, fund, key

pytestmark = pytest.mark.django_db


def test_a_spend_nobody_listens_to_writes_no_event(wallet):
    fund(wallet, 100)
    services.spend(wallet=wallet, amount=30, actor=ACTOR, idempotency_key=key())
    assert Event.objects.count() == 0


def test_every_ledger_transaction_announces_itself_with_the_wallet_after_it(
    wallet, other_wallet, everyone_listens
):
    fund(wallet, 100)
    spend = services.spend(wallet=wallet, amount=30, actor=ACTOR, idempotency_key=key())
    held = services.hold(wallet=wallet, amount=20, actor=ACTOR, idempotency_key=key())
    services.transfer(
        sender=wallet, receiver=other_wallet, amount=10, actor=ACTOR, idempotency_key=key()
    )
    types = list(Event.objects.order_by("id").values_list("type", flat=True))
    assert types == [
        "credits.granted",
        "credits.spent",
        "hold.placed",
        "transfer.sent",
        "transfer.received",
    ]
    spent = Event.objects.get(type="credits.spent")
    assert spent.user_id == wallet.user_id
    assert spent.data["transaction_id"] == spend.pk
    assert (spent.data["amount"], spent.data["balance"], spent.data["available"]) == (30, 70, 70)
    placed = Event.objects.get(type="hold.placed")
    assert placed.data["hold_id"] == held.hold.pk
    assert placed.data["transaction_id"] == held.pk
    assert (placed.data["held"], placed.data["available"]) == (20, 50)
    received = Event.objects.get(type="transfer.received")
    assert received.user_id == other_wallet.user_id
    assert received.data["balance"] == 10
    assert received.data["source"] == "transfer"
    assert Event.objects.get(type="credits.granted").data["source"] == "purchase"


def test_a_refused_spend_announces_nothing(wallet, everyone_listens):
    fund(wallet, 10)
    with pytest.raises(InsufficientCredits):
        services.spend(wallet=wallet, amount=30, actor=ACTOR, idempotency_key=key())
    assert list(Event.objects.values_list("type", flat=True)) == ["credits.granted"]


def test_a_change_that_rolls_back_announces_nothing(wallet, everyone_listens):
    fund(wallet, 100)

    @transaction.atomic
    def spend_then_fail():
        services.spend(wallet=wallet, amount=30, actor=ACTOR, idempotency_key=key())
        announce("purchase.paid", data={"purchase_id": 1}, user_id=wallet.user_id)
        raise RuntimeError("the caller fails after the spend")

    with pytest.raises(RuntimeError):
        spend_then_fail()
    assert list(Event.objects.values_list("type", flat=True)) == ["credits.granted"]


def test_an_audience_hears_only_its_types(wallet):
    register_audience(Audience("tests: holds", "1 = 1", types=frozenset({"hold.placed"})))
    try:
        fund(wallet, 100)
        services.spend(wallet=wallet, amount=30, actor=ACTOR, idempotency_key=key())
        services.hold(wallet=wallet, amount=20, actor=ACTOR, idempotency_key=key())
    finally:
        remove_audience("tests: holds")
    assert list(Event.objects.values_list("type", flat=True)) == ["hold.placed"]


def test_an_audience_condition_sees_the_event_s_user(wallet, other_wallet):
    register_audience(Audience("tests: one user", f"event.user_id = {other_wallet.user_id}"))
    try:
        fund(wallet, 100)
        fund(other_wallet, 100)
    finally:
        remove_audience("tests: one user")
    assert list(Event.objects.values_list("user_id", flat=True)) == [other_wallet.user_id]


def test_an_event_whose_kick_was_lost_is_dispatched_by_the_next_sweep(wallet, everyone_listens):
    seen = []
    register_channel("tests", lambda event: seen.append(event.type))
    try:
        fund(wallet, 100)  # committed, but the kick after commit never ran: as after a crash
        assert seen == []
        assert dispatch_pending() == 1
        assert dispatch_pending() == 0  # once
    finally:
        remove_channel("tests")
    assert seen == ["credits.granted"]
    assert Event.objects.get().dispatched_at is not None


def test_the_kick_after_commit_dispatches_at_once(
    wallet, everyone_listens, django_capture_on_commit_callbacks
):
    seen = []
    register_channel("tests", lambda event: seen.append(event.type))
    try:
        with django_capture_on_commit_callbacks(execute=True):
            fund(wallet, 100)
        assert seen == ["credits.granted"]
    finally:
        remove_channel("tests")


def test_a_channel_that_fails_on_an_event_stops_only_that_event(
    wallet, everyone_listens, django_capture_on_commit_callbacks
):
    def fails_on_spends(event):
        if event.type == "credits.spent":
            raise ValueError("no")

    register_channel("tests", fails_on_spends)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            fund(wallet, 100)
            services.spend(wallet=wallet, amount=5, actor=ACTOR, idempotency_key=key())
            fund(wallet, 100)
    finally:
        remove_channel("tests")
    waiting = Event.objects.filter(dispatched_at__isnull=True)
    assert [event.type for event in waiting] == ["credits.spent"]
    assert waiting.get().dispatch_error == "ValueError: no"
