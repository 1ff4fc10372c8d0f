"""The credits flow of each month, from a ledger seeded over three months: every figure equals
an independent SQL sum written here, the flow closes for every month, and the report prints
the same figures (or exits 1 when the wallets' balances disagree with their entries)."""

import csv
import io
import json
import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection

from analytics.flow import credits_flow
from analytics.periods import month
from credits import services
from credits.models import CreditGrant, Wallet
from tests.credits.conftest import ACTOR, key
from tests.factories import UserFactory

MONTHS = ["2030-08", "2030-09", "2030-10", "2030-11", "2030-12"]
Source = CreditGrant.Source


def at(day: str):
    return time_machine.travel(datetime.fromisoformat(day).replace(tzinfo=UTC), tick=False)


def grant(wallet, amount, source, **options):
    if source in (Source.PURCHASE, Source.SUBSCRIPTION):
        options.setdefault("cost_basis", Decimal("0.10"))
        options.setdefault("currency", "usd")
    txn = services.grant(
        wallet=wallet, amount=amount, source=source, actor=ACTOR, idempotency_key=key(), **options
    )
    return txn.created_grants.get()


def spend(wallet, amount):
    return services.spend(wallet=wallet, amount=amount, actor=ACTOR, idempotency_key=key())


@pytest.fixture
def ledger(db):
    """Four users' months: September buys and spends, October moves, refunds, takes back and
    expires, November leaves a hold open."""
    ann, bob, cat, dan = (UserFactory().wallet for _ in range(4))
    with at("2030-09-10T12:00"):
        grant(ann, 1000, Source.PURCHASE)
        grant(ann, 200, Source.PROMOTION)
        subscription = grant(bob, 500, Source.SUBSCRIPTION)
        grant(cat, 100, Source.ADMIN)
        short_lived = grant(dan, 40, Source.PURCHASE, expires_at=datetime(2030, 10, 15, tzinfo=UTC))
    with at("2030-09-20T12:00"):
        spent = spend(ann, 300)  # 200 promotional first, then 100 paid
        held = services.hold(wallet=bob, amount=200, actor=ACTOR, idempotency_key=key())
        services.capture(hold=held.hold, amount=150, actor=ACTOR, idempotency_key=key())
    with at("2030-09-30T23:59:59"):
        services.hold(
            wallet=ann,
            amount=60,
            actor=ACTOR,
            idempotency_key=key(),
            expires_at=datetime(2030, 10, 3, tzinfo=UTC),
        )
    with at("2030-10-05T12:00"):
        services.transfer(sender=ann, receiver=cat, amount=100, actor=ACTOR, idempotency_key=key())
        spend(cat, 50)
        services.refund(transaction=spent, amount=100, actor=ACTOR, idempotency_key=key())
        services.adjust(
            wallet=ann, amount=20, reason="correction", actor=ACTOR, idempotency_key=key()
        )
        services.revoke(
            grant=subscription, amount=30, reason="refunded", actor=ACTOR, idempotency_key=key()
        )
    with at("2030-10-06T00:00"):
        services.release_expired_holds()
    with at("2030-10-16T00:00"):
        services.expire_due_grants()
    with at("2030-11-02T12:00"):
        services.hold(wallet=cat, amount=30, actor=ACTOR, idempotency_key=key(), until_settled=True)
    return {"ann": ann, "bob": bob, "cat": cat, "short_lived": short_lived}


def sql(query: str, *params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(query, stored(params))
        return cursor.fetchone()[0] or 0


def stored(params) -> list:
    """Moments as the database stores them: SQLite compares text, and an aware datetime's
    "+00:00" would sort a row written at exactly the moment on the wrong side of it."""
    return [
        connection.ops.adapt_datetimefield_value(p) if isinstance(p, datetime) else p
        for p in params
    ]


USER_ENTRIES = (
    "FROM credits_entry e JOIN credits_wallet w ON w.id = e.wallet_id "
    "JOIN credits_credittransaction t ON t.id = e.transaction_id WHERE w.kind = 'user' "
)


def independent(name: str) -> dict:
    """The month's figures by sums written here, not by analytics.flow."""
    since, until = month(name)
    period = "AND e.created_at >= %s AND e.created_at < %s "

    def moved(kinds: str) -> int:
        return sql(
            f"SELECT SUM(e.amount) {USER_ENTRIES} AND t.kind IN ({kinds}) {period}", since, until
        )

    def granted(source: str) -> int:
        return sql(
            f"SELECT SUM(e.amount) {USER_ENTRIES} AND t.kind = 'grant' {period}"
            "AND (SELECT g.source FROM credits_creditgrant g WHERE g.transaction_id = t.id) = %s",
            since,
            until,
            source,
        )

    def consumed(promotional: bool) -> int:
        return sql(
            "SELECT SUM(a.amount) FROM credits_allocation a "
            "JOIN credits_credittransaction t ON t.id = a.transaction_id "
            "JOIN credits_creditgrant g ON g.id = a.grant_id "
            "WHERE t.kind IN ('spend', 'capture') AND g.is_promotional = %s "
            "AND t.created_at >= %s AND t.created_at < %s",
            promotional,
            since,
            until,
        )

    return {
        "opening_balance": sql(f"SELECT SUM(e.amount) {USER_ENTRIES} AND e.created_at < %s", since),
        "closing_balance": sql(f"SELECT SUM(e.amount) {USER_ENTRIES} AND e.created_at < %s", until),
        "issued_purchase": granted("purchase"),
        "issued_subscription": granted("subscription"),
        "issued_promotion": granted("promotion"),
        "issued_admin": granted("admin"),
        "issued_refund": moved("'refund'"),
        "consumed_paid": consumed(False),
        "consumed_promotional": consumed(True),
        "expired": -moved("'expiry'"),
        "taken_back": -moved("'revocation', 'adjustment'"),
        "transferred": sql(
            f"SELECT SUM(e.amount) {USER_ENTRIES} AND t.kind = 'transfer' AND e.amount > 0 "
            + period,
            since,
            until,
        ),
    }


@pytest.mark.parametrize("name", MONTHS)
def test_every_figure_equals_its_own_sum_and_the_flow_closes(ledger, name):
    with at("2031-01-15T00:00"):
        since, until = month(name)
        figures = credits_flow(since=since, until=until).figures()
    assert figures["closes"] is True
    for figure, expected in independent(name).items():
        assert figures[figure] == expected, figure
    flowed = figures["issued"] - figures["consumed"] - figures["expired"] - figures["taken_back"]
    assert figures["opening_balance"] + flowed == figures["closing_balance"]


def test_the_months_by_hand(ledger):
    """What the seeded months come to, counted by hand: the sums above are not all zero."""
    with at("2031-01-15T00:00"):
        september, october, november = (
            credits_flow(since=since, until=until).figures()
            for since, until in map(month, ["2030-09", "2030-10", "2030-11"])
        )
    assert september["opening_balance"] == 0
    assert (september["issued_purchase"], september["issued_subscription"]) == (1040, 500)
    assert (september["issued_promotion"], september["issued_admin"]) == (200, 100)
    assert (september["consumed_promotional"], september["consumed_paid"]) == (200, 250)
    assert september["held"] == 60  # ann's hold, open over the month's end
    assert september["closing_balance"] == 1840 - 450
    assert october["issued_refund"] == 100  # in the refund's month, not the spend's
    assert october["transferred"] == 100
    assert october["consumed"] == 50
    assert october["taken_back"] == 20 + 30
    assert october["expired"] == 40
    assert october["held"] == 0
    assert october["closing_balance"] == 1390 + 100 - 50 - 50 - 40
    assert november["held"] == 30
    assert november["closing_balance"] == october["closing_balance"]


def test_the_current_month_closes_on_the_wallets_balances_and_held(ledger):
    with at("2030-11-20T00:00"):
        since, until = month("2030-11")
        flow = credits_flow(since=since, until=until)
    stored = Wallet.objects.filter(kind="user")
    assert flow.closing_balance == sum(wallet.balance for wallet in stored)
    assert flow.held == sum(wallet.held for wallet in stored) == 30
    assert flow.closes


def report(*args) -> str:
    out = io.StringIO()
    call_command("credits_report", *args, stdout=out)
    return out.getvalue()


def test_the_report_prints_the_same_figures_as_json_csv_and_text(ledger):
    with at("2031-01-15T00:00"):
        expected = credits_flow(since=month("2030-10")[0], until=month("2030-10")[1]).figures()
        as_json = json.loads(report("--month", "2030-10", "--format", "json"))
        rows = list(csv.reader(io.StringIO(report("--month", "2030-10", "--format", "csv"))))
        text = report("--month", "2030-10")
    assert as_json == expected
    assert rows[0] == list(expected)
    assert rows[1] == [str(value) for value in expected.values()]
    assert re.search(rf"^taken_back +{expected['taken_back']}$", text, re.MULTILINE)


FULL_WIDTH_MONTH = "\uff12\uff10\uff13\uff10-\uff11\uff10"  # 2030-10 in full-width digits


@pytest.mark.parametrize(
    "bad", ["2030-13", "2030-1", "October", "", "0000-01", "9999-12", FULL_WIDTH_MONTH]
)
def test_a_month_that_is_none_is_refused_in_one_line(db, bad):
    with pytest.raises(CommandError, match="is not a month: give it as YYYY-MM"):
        report("--month", bad)


def test_wallets_whose_balances_disagree_with_their_entries_make_the_report_exit_1(ledger):
    Wallet.objects.filter(pk=ledger["ann"].pk).update(balance=ledger["ann"].balance + 7)
    with at("2030-11-20T00:00"), pytest.raises(CommandError, match="does not close"):
        report("--month", "2030-11")


def test_a_month_before_any_credits_is_all_zeros(ledger):
    with at("2031-01-15T00:00"):
        figures = json.loads(report("--month", "2030-08", "--format", "json"))
    assert figures["closes"] is True
    assert not any(value for name, value in figures.items() if name not in ("from", "to", "closes"))
