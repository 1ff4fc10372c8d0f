"""Expiry warnings: credits.expiring 7 days and 1 day before a grant's credits expire, once per
grant per stage, written by `credits_expire` before it expires what is due."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command

from credits import services
from credits.models import CreditGrant
from events.models import Event
from tests.credits.conftest import ACTOR, fund, key

pytestmark = pytest.mark.django_db

START = datetime(2030, 3, 1, 12, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def warnings() -> list[tuple[int, int, int]]:
    """(grant id, days left, amount) of every credits.expiring event, oldest first."""
    return [
        (event.data["grant_id"], event.data["days_left"], event.data["amount"])
        for event in Event.objects.filter(type="credits.expiring").order_by("id")
    ]


def test_a_grant_is_warned_7_days_then_1_day_before_once_each(wallet, everyone_listens, clock):
    grant = fund(wallet, 100, days=10)
    assert services.send_expiry_warnings().total == 0
    clock.shift(timedelta(days=3, hours=1))  # 6 days 23 h left
    run = services.send_expiry_warnings()
    assert (run.total, run.by_days) == (1, {1: 0, 7: 1})
    assert services.send_expiry_warnings().total == 0  # the same stage, once
    clock.shift(timedelta(days=5))  # 1 day 23 h left: still the 7-day stage
    assert services.send_expiry_warnings().total == 0
    clock.shift(timedelta(days=1))  # 23 h left
    assert services.send_expiry_warnings().by_days == {1: 1, 7: 0}
    assert services.send_expiry_warnings().total == 0
    assert warnings() == [(grant.pk, 7, 100), (grant.pk, 1, 100)]
    event = Event.objects.filter(type="credits.expiring").order_by("id").first()
    assert event.user_id == wallet.user_id
    assert event.data == {
        "user_id": wallet.user_id,
        "grant_id": grant.pk,
        "amount": 100,
        "expires_at": grant.expires_at.isoformat().replace("+00:00", "Z"),
        "days_left": 7,
        "balance": 100,
    }


def test_a_grant_with_less_than_a_day_left_gets_only_the_1_day_warning(
    wallet, everyone_listens, clock
):
    grant = fund(wallet, 50, days=None, expires_at=START + timedelta(hours=20))
    services.send_expiry_warnings()
    services.send_expiry_warnings()
    assert warnings() == [(grant.pk, 1, 50)]


def test_the_warning_counts_what_is_left_and_none_comes_for_a_spent_grant(
    wallet, other_wallet, everyone_listens, clock
):
    partly = fund(wallet, 100, days=5)
    services.spend(wallet=wallet, amount=30, actor=ACTOR, idempotency_key=key())
    spent = fund(other_wallet, 10, days=5)
    services.spend(wallet=other_wallet, amount=10, actor=ACTOR, idempotency_key=key())
    later = fund(wallet, 10, days=30)
    services.send_expiry_warnings()
    assert warnings() == [(partly.pk, 7, 70)]
    assert Event.objects.get(type="credits.expiring").data["balance"] == 80
    assert CreditGrant.objects.get(pk=spent.pk).warned_days is None
    assert CreditGrant.objects.get(pk=later.pk).warned_days is None


def test_with_nobody_listening_grants_are_still_marked_once(wallet, clock, nobody_listens):
    grant = fund(wallet, 100, days=5)
    assert services.send_expiry_warnings().total == 1
    assert services.send_expiry_warnings().total == 0
    assert Event.objects.count() == 0
    assert CreditGrant.objects.get(pk=grant.pk).warned_days == 7


def test_credits_expire_warns_first_and_says_how_many(
    wallet, other_wallet, everyone_listens, clock
):
    fund(wallet, 100, days=5)
    fund(other_wallet, 40, days=None, expires_at=START + timedelta(hours=2))
    out = StringIO()
    call_command("credits_expire", stdout=out)
    assert (
        out.getvalue().splitlines()[0] == "Warned of 2 grants expiring soon (7 days: 1, 1 day: 1)."
    )
    clock.shift(timedelta(hours=3))
    out = StringIO()
    call_command("credits_expire", stdout=out)
    assert out.getvalue().splitlines() == [
        "Warned of 0 grants expiring soon (7 days: 0, 1 day: 0).",
        "Expired 40 credits from 1 grant.",
    ]
    assert [days for _, days, _ in warnings()] == [1, 7]


def test_a_dry_run_warns_nobody(wallet, everyone_listens, clock):
    fund(wallet, 100, days=5)
    call_command("credits_expire", "--dry-run", stdout=StringIO())
    assert warnings() == []


def test_a_suspended_wallets_credits_are_not_warned_of(
    wallet, other_wallet, everyone_listens, clock
):
    """They do not expire while it is suspended (expiry.due_grants), so no warning says so."""
    fund(wallet, 100, days=5)
    frozen = fund(other_wallet, 100, days=5)
    services.suspend(wallet=wallet, reason="Investigation", actor=ACTOR)
    services.freeze(wallet=other_wallet, reason="Card testing", actor=ACTOR)
    services.send_expiry_warnings()
    assert warnings() == [(frozen.pk, 7, 100)]  # a frozen wallet's credits still expire
