"""The ledger under real concurrency: many threads, each with its own PostgreSQL connection.

These need row locks that SQLite does not have (it serialises every writer), so they run only
on PostgreSQL.
"""

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.utils import timezone

from credits import services
from credits.errors import CreditError, InsufficientCredits
from credits.models import CreditTransaction, Wallet
from credits.reconciliation import reconcile
from tests.credits.conftest import ACTOR, fund, key, state
from tests.factories import UserFactory
from tests.threads import at_once

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row-lock concurrency needs PostgreSQL (DATABASE_URL); SQLite serialises writers",
    ),
    pytest.mark.django_db(transaction=True),
]


def new_wallet() -> Wallet:
    return UserFactory().wallet


def test_racing_spends_never_overdraw_and_succeed_exactly_as_funds_allow():
    wallet = new_wallet()
    fund(wallet, 100)

    results = at_once(
        24,
        lambda i: services.spend(wallet=wallet, amount=10, actor=ACTOR, idempotency_key=key()),
    )

    succeeded = [r for r in results if isinstance(r, CreditTransaction)]
    refused = [r for r in results if isinstance(r, InsufficientCredits)]
    assert (len(succeeded), len(refused)) == (10, 14)
    assert sum(txn.amount for txn in succeeded) == 100
    assert state(wallet) == (0, 0, 0)
    assert reconcile().problems == []


def test_one_key_sent_by_many_threads_at_once_makes_one_transaction():
    wallet = new_wallet()
    fund(wallet, 1000)

    results = at_once(
        20,
        lambda i: services.spend(wallet=wallet, amount=7, actor=ACTOR, idempotency_key="once"),
    )

    assert all(isinstance(r, CreditTransaction) for r in results), results
    assert len({txn.pk for txn in results}) == 1
    assert state(wallet) == (993, 0, 993)
    assert CreditTransaction.objects.filter(kind="spend").count() == 1


def test_opposite_transfers_at_once_do_not_deadlock_and_conserve_credits(settings):
    settings.CREDITS_DAILY_TRANSFER_LIMIT = 10**6
    alice, bob = new_wallet(), new_wallet()
    fund(alice, 500)
    fund(bob, 500)

    def transfer(index: int):
        sender, receiver = (alice, bob) if index % 2 else (bob, alice)
        return services.transfer(
            sender=sender, receiver=receiver, amount=5, actor=ACTOR, idempotency_key=key()
        )

    results = at_once(30, transfer)

    errors = [r for r in results if isinstance(r, Exception)]
    assert errors == []
    assert state(alice)[0] + state(bob)[0] == 1000
    assert state(alice)[0] == 500  # 15 each way
    assert reconcile().problems == []


def test_spends_racing_the_expiry_command_keep_every_invariant():
    wallet = new_wallet()
    fund(wallet, 300, days=1)
    fund(wallet, 200)

    with time_machine.travel(timezone.now() + timedelta(days=2)):

        def work(index: int):
            if index % 4 == 0:
                return services.expire_due_grants()
            return services.spend(wallet=wallet, amount=20, actor=ACTOR, idempotency_key=key())

        results = at_once(20, work)

    spent = sum(r.amount for r in results if isinstance(r, CreditTransaction))
    unexpected = [
        r for r in results if isinstance(r, Exception) and not isinstance(r, InsufficientCredits)
    ]
    expired = CreditTransaction.objects.filter(kind="expiry")
    assert unexpected == []
    assert sum(txn.amount for txn in expired) == 300  # each expired credit, exactly once
    assert spent == 200
    assert state(wallet) == (0, 0, 0)
    assert reconcile().problems == []


def test_racing_captures_and_releases_of_one_hold_close_it_once():
    wallet = new_wallet()
    fund(wallet, 100)
    held = services.hold(wallet=wallet, amount=60, actor=ACTOR, idempotency_key=key()).hold

    def work(index: int):
        if index % 2:
            return services.capture(hold=held, amount=40, actor=ACTOR, idempotency_key=key())
        return services.release(hold=held, actor=ACTOR, idempotency_key=key())

    results = at_once(12, work)

    outcomes = [r for r in results if isinstance(r, CreditTransaction)]
    assert len(outcomes) == 1
    assert all(isinstance(r, CreditError) for r in results if r not in outcomes)
    held.refresh_from_db()
    assert held.status in ("captured", "released")
    assert state(wallet)[1] == 0
    assert reconcile().problems == []
