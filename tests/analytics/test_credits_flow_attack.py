"""Attacks on the credits flow: refunds to new refund grants, refunds of expiries, a capture's
remainder going back to an expired grant, holds and entries at a month's boundary."""

from datetime import UTC, datetime

import pytest

from analytics.flow import credits_flow
from analytics.periods import month
from credits import services
from credits.models import CreditGrant, CreditTransaction
from tests.analytics.test_credits_flow import at
from tests.credits.conftest import ACTOR, key
from tests.factories import UserFactory

Source = CreditGrant.Source


def flow(name):
    since, until = month(name)
    with at("2031-06-15T00:00"):
        return credits_flow(since=since, until=until)


@pytest.fixture
def ledger(db):
    ann, bob = (UserFactory().wallet for _ in range(2))
    with at("2030-09-10T12:00"):
        short = services.grant(
            wallet=ann,
            amount=100,
            source=Source.PURCHASE,
            actor=ACTOR,
            idempotency_key=key(),
            expires_at=datetime(2030, 10, 1, tzinfo=UTC),
        )
        services.grant(
            wallet=bob, amount=500, source=Source.PURCHASE, actor=ACTOR, idempotency_key=key()
        )
        spent = services.spend(wallet=ann, amount=30, actor=ACTOR, idempotency_key=key())
        held = services.hold(
            wallet=ann, amount=40, actor=ACTOR, idempotency_key=key(), until_settled=True
        )
    with at("2030-10-01T00:00"):  # exactly at the boundary: the grant expires
        services.expire_due_grants()
        expiry = CreditTransaction.objects.get(kind="expiry")
        services.transfer(sender=bob, receiver=ann, amount=50, actor=ACTOR, idempotency_key=key())
    with at("2030-10-05T00:00"):
        services.refund(transaction=spent, actor=ACTOR, idempotency_key=key())  # new refund grant
        services.refund(transaction=expiry, amount=10, actor=ACTOR, idempotency_key=key())
        services.capture(
            hold=held.hold, amount=15, actor=ACTOR, idempotency_key=key()
        )  # rest expires
    with at("2030-10-31T23:59:59.999999"):
        services.hold(
            wallet=bob,
            amount=20,
            actor=ACTOR,
            idempotency_key=key(),
            expires_at=datetime(2030, 11, 2, tzinfo=UTC),
        )
    with at("2030-11-03T00:00"):
        services.release_expired_holds()
    return short


@pytest.mark.parametrize("name", ["2030-09", "2030-10", "2030-11"])
def test_each_month_closes(ledger, name):
    found = flow(name)
    assert found.closes, (found.figures(), found.problems)


def test_figures(ledger):
    sep, octo, nov = flow("2030-09"), flow("2030-10"), flow("2030-11")
    assert sep.held == 40
    assert sep.expired == 0
    assert octo.opening_balance == sep.closing_balance == 570
    assert octo.expired == 30 + 25  # 30 unheld at the boundary, the hold's 25 at its capture
    assert octo.issued_by_source[Source.REFUND] == 40
    assert octo.transferred == 50
    assert octo.consumed == 15
    assert octo.held == 20
    assert nov.held == 0
