"""Attacks on the daily snapshots of the deferred revenue roll-forward: wherever the pages read
them (any period of whole months, any currency, any moment), they must give exactly what the
ledger gives (`live=True`). Each test builds the ledger through credits.services at set times,
rebuilds at the awkward moment it is about, then compares the snapshots' figures with the
ledger's (and, where the snapshots must be read, checks that they were)."""

import csv
import io
import os
import threading
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import money
from analytics.front import overview
from analytics.models import LiabilityDay, SnapshotBuild
from analytics.periods import months
from core import figures
from credits import services
from credits.errors import CreditError
from credits.models import CreditGrant, CreditTransaction
from tests.analytics.test_credits_flow import at
from tests.analytics.test_pages import ANALYST, analyst
from tests.credits.conftest import ACTOR, key
from tests.factories import StaffFactory, UserFactory

Source = CreditGrant.Source
Kind = CreditTransaction.Kind


def rebuild(*args: str) -> str:
    out = StringIO()
    call_command("analytics_rebuild", *args, stdout=out)
    return out.getvalue()


def buy(wallet, amount: int, basis: str = "0.005", currency: str = "usd", **options):
    txn = services.grant(
        wallet=wallet, amount=amount, source=Source.PURCHASE, cost_basis=Decimal(basis),
        currency=currency, actor=ACTOR, idempotency_key=key(), **options,
    )  # fmt: skip
    return txn.created_grants.get()


def spend(wallet, amount: int):
    return services.spend(wallet=wallet, amount=amount, actor=ACTOR, idempotency_key=key())


def deferred(first: str, last: str, currency: str, **options) -> money.DeferredRevenue:
    return money.deferred_revenue(months(first, last), currency, **options)


def same_as_the_ledger(first: str, last: str, currency: str, *, read: bool = True) -> None:
    """The roll-forward of [first, last] from the snapshots is the ledger's to the minor unit,
    and (`read`) it was read from the snapshots, so the comparison tested them."""
    found, live = deferred(first, last, currency), deferred(first, last, currency, live=True)
    assert found.figures() == live.figures(), (first, last, currency)
    assert found.report().tables[0].rows == live.report().tables[0].rows
    assert (found.snapshots is not None) == read, (first, last, currency, found.snapshots)


def liabilities_same(moments: list[datetime], currency: str) -> None:
    found = money.liabilities_at(moments, currency)
    assert found == money.liabilities_at(moments, currency, live=True), (moments, currency)
    assert [f.money.as_tuple().exponent for f in found] == [
        f.money.as_tuple().exponent for f in money.liabilities_at(moments, currency, live=True)
    ]


# --- The rebuild's own edges ---------------------------------------------------------------------


@pytest.mark.django_db
def test_a_first_rebuild_in_the_settle_hour_after_the_first_paid_grant_of_the_day():
    """The first paid grant ever is at 00:10 and the rebuild runs at 00:50: the last day that
    can be written ended yesterday, the grant's day has not settled. It must still build
    (nothing was owed then) rather than walk from the grant's day back to yesterday."""
    wallet = UserFactory().wallet
    with at("2031-06-01T00:10"):
        buy(wallet, 100)
    with at("2031-06-01T00:50"):
        printed = rebuild()
        assert "to 2031-05-31" in printed, printed
        assert not LiabilityDay.objects.exists()  # no currency owed anything by then
        same_as_the_ledger("2031-05", "2031-06", "usd")
        liabilities_same([datetime.now(UTC)], "usd")
        assert money.liabilities_at([datetime.now(UTC)], "usd")[0].credits == 100


@pytest.mark.django_db
def test_a_rebuild_with_nothing_paid_yet_then_a_ledger_that_starts_after_it():
    """Grants made after the rebuild, then spent, transferred, expired and the expiry refunded:
    all walked from the rebuild's end, for every period and moment after it."""
    wallet, other = UserFactory().wallet, UserFactory().wallet
    with at("2031-03-05T12:00"):
        printed = rebuild()
    assert "wrote 0 rows" in printed
    with at("2031-03-05T18:00"):
        buy(wallet, 90, "0.0125", expires_at=datetime(2031, 3, 20, tzinfo=UTC))
        spend(wallet, 11)
        services.transfer(
            sender=wallet, receiver=other, amount=7, actor=ACTOR, idempotency_key=key()
        )
    with at("2031-03-20T00:00"):
        (expiry,) = [
            services.expire(grant=grant, actor=ACTOR)
            for grant in services.due_grants()
            if grant.wallet_id == wallet.pk
        ]
    with at("2031-04-02T09:30"):
        services.refund(transaction=expiry, amount=30, actor=ACTOR, idempotency_key=key())
        now = datetime.now(UTC)
        for first, last in (("2031-02", "2031-02"), ("2031-03", "2031-03"), ("2031-02", "2031-05")):
            same_as_the_ledger(first, last, "usd")
        moments = [now, datetime(2031, 3, 5, 17, 59, tzinfo=UTC), datetime(2031, 4, 1, tzinfo=UTC)]
        liabilities_same(moments, "usd")
        april = deferred("2031-04", "2031-04", "usd")
        assert april.lines["given_back"].credits == 30
        assert deferred("2031-03", "2031-03", "usd").lines["breakage"].credits < 0


@pytest.mark.django_db
def test_from_earlier_than_the_first_builds_start_covers_the_earlier_periods_too():
    wallet = UserFactory().wallet
    with at("2031-01-10T08:00"):
        buy(wallet, 40)
    with at("2031-02-10T08:00"):
        buy(wallet, 60, "0.0125")
        spend(wallet, 45)
    with at("2031-03-02T02:00"):
        rebuild("--from", "2031-02-01")
        # A period that starts before what was written reads the ledger, and says so.
        same_as_the_ledger("2031-01", "2031-02", "usd", read=False)
        same_as_the_ledger("2031-02", "2031-03", "usd")
        printed = rebuild("--from", "2030-12-15")
        assert "from 2030-12-15" in printed, printed
        assert SnapshotBuild.objects.latest().since == datetime(2030, 12, 15, tzinfo=UTC)
        same_as_the_ledger("2031-01", "2031-02", "usd")
        same_as_the_ledger("2031-01", "2031-03", "usd")
        same_as_the_ledger("2030-12", "2031-03", "usd", read=False)  # before 2030-12-15


@pytest.mark.django_db
def test_a_late_transaction_before_the_coverage_sends_every_page_to_the_ledger_and_is_mended():
    wallet = UserFactory().wallet
    with at("2031-02-10T08:00"):
        buy(wallet, 60)
    with at("2031-03-02T02:00"):
        rebuild("--from", "2031-02-01")
    with at("2031-01-20T08:00"):  # written now, dated before anything the rebuild wrote
        buy(wallet, 33, "0.0125")
    with at("2031-03-02T03:00"):
        same_as_the_ledger("2031-02", "2031-03", "usd", read=False)
        printed = rebuild()
        assert "from 2031-01-20" in printed, printed
        same_as_the_ledger("2031-02", "2031-03", "usd")
        same_as_the_ledger("2031-01", "2031-03", "usd", read=False)  # true from 01-20 only


# --- Currencies ----------------------------------------------------------------------------------


def csv_rows(client, **query) -> list[list[str]]:
    url = reverse("admin:analytics_deferredrevenue_changelist")
    response = client.get(url, {**query, "format": "csv"})
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))


@pytest.mark.django_db
def test_a_zero_decimal_currency_reads_the_same_figures_and_csv_from_the_snapshots(client):
    """Yen have no minor unit: a yen carried at 1.5 a credit rounds half-even to whole yen,
    and the CSV writes them as the ledger does (no '.00' from the snapshots' column)."""
    wallet = UserFactory().wallet
    with at("2031-01-10T08:00"):
        buy(wallet, 33, "1.5", "jpy")  # ¥49.5 -> ¥50
        buy(wallet, 7, "2.5", "jpy")  # ¥17.5 -> ¥18
    with at("2031-02-03T08:00"):
        spend(wallet, 5)
    with at("2031-03-01T02:00"):
        analyst(client)
        query = {"from": "2031-01", "to": "2031-02", "currency": "jpy"}
        before = csv_rows(client, **query)
        rebuild()
        same_as_the_ledger("2031-01", "2031-02", "jpy")
        liabilities_same([datetime(2031, 2, 1, tzinfo=UTC), datetime.now(UTC)], "jpy")
        after = csv_rows(client, **query)
    assert before[:10] == after[:10]
    # 28 left x 1.5 = ¥42, and 7 x 2.5 = ¥17.5, half-even to ¥18.
    assert ["Closing liability", "35", "60"] in after


@pytest.mark.django_db
def test_a_currency_asked_in_capitals_reads_the_snapshots_of_the_lowercase_code():
    wallet = UserFactory().wallet
    with at("2031-01-10T08:00"):
        buy(wallet, 41, "0.005", "USD")  # the service stores "usd"
    assert CreditGrant.objects.get().currency == "usd"
    with at("2031-02-01T02:00"):
        rebuild()
        spend(wallet, 3)
    with at("2031-02-10T02:00"):
        for code in ("USD", "usd"):
            same_as_the_ledger("2031-01", "2031-02", code)
            liabilities_same([datetime.now(UTC), datetime(2031, 1, 20, tzinfo=UTC)], code)


@pytest.mark.django_db
def test_a_currency_first_bought_after_the_rebuild_is_walked_from_the_rebuilds_end():
    wallet, other = UserFactory().wallet, UserFactory().wallet
    with at("2031-01-10T08:00"):
        buy(wallet, 41)
    with at("2031-02-01T02:00"):
        rebuild()
    with at("2031-02-01T05:00"):
        buy(other, 19, "0.0125", "eur")
        held = services.hold(wallet=other, amount=8, actor=ACTOR, idempotency_key=key()).hold
        services.capture(hold=held, amount=5, actor=ACTOR, idempotency_key=key())
    with at("2031-02-01T05:30"):
        for first, last in (("2031-01", "2031-01"), ("2031-02", "2031-02"), ("2031-01", "2031-03")):
            same_as_the_ledger(first, last, "eur")
        liabilities_same([datetime.now(UTC), datetime(2031, 2, 1, 5, tzinfo=UTC)], "eur")
        assert money.liabilities_at([datetime.now(UTC)], "eur")[0].credits == 14


@pytest.mark.django_db
def test_the_csv_from_the_snapshots_is_the_csv_from_the_ledger(client):
    """Cents that end in a zero ($0.20, $1.50): the snapshots' sums write them as the ledger
    does, on either database."""
    wallet = UserFactory().wallet
    with at("2031-01-10T08:00"):
        buy(wallet, 41, "0.005")  # $0.205 -> $0.20
        buy(wallet, 30, "0.05")  # $1.50
    with at("2031-02-03T08:00"):
        spend(wallet, 10)
    with at("2031-03-01T02:00"):
        analyst(client)
        query = {"from": "2031-01", "to": "2031-02", "currency": "usd"}
        before = csv_rows(client, **query)
        rebuild()
        assert deferred("2031-01", "2031-02", "usd").snapshots is not None
        after = csv_rows(client, **query)
    assert before == after
    assert ["Issued (paid credits bought or granted with a cost)", "71", "1.70"] in after


# --- Moments off a day, the settle hour, the front page -----------------------------------------


@pytest.mark.django_db
def test_the_settle_hour_leaves_the_last_hour_of_yesterday_to_the_ledger_until_it_settles():
    wallet = UserFactory().wallet
    with at("2031-05-20T08:00"):
        buy(wallet, 80, "0.0125")
    with at("2031-05-31T23:45"):  # in the hour before midnight
        spend(wallet, 9)
        buy(wallet, 41, "0.005")
    with at("2031-06-01T00:30"):
        printed = rebuild()
        assert "to 2031-05-31" in printed, printed  # 31 May has not settled
        spend(wallet, 4)
        same_as_the_ledger("2031-05", "2031-05", "usd")
        same_as_the_ledger("2031-05", "2031-06", "usd")
        liabilities_same([datetime.now(UTC), datetime(2031, 5, 31, 23, 50, tzinfo=UTC)], "usd")
    with at("2031-06-01T01:30"):
        printed = rebuild()
        assert "to 2031-06-01" in printed, printed
        assert "from 2031-05-31" in printed, printed
        same_as_the_ledger("2031-05", "2031-05", "usd")
        assert deferred("2031-05", "2031-05", "usd").lines["recognised"].credits == -9
        liabilities_same([datetime.now(UTC), datetime(2031, 6, 1, tzinfo=UTC)], "usd")


@pytest.mark.django_db
def test_the_front_pages_deferred_revenue_now_is_the_ledgers_at_any_hour():
    """The front page asks for the liability at this very moment (not a day's start), after
    grants made since the rebuild, spent, held, transferred and refunded."""
    wallet, other = UserFactory().wallet, UserFactory().wallet
    staff = StaffFactory(is_superuser=False, permissions=ANALYST)
    with at("2031-02-10T08:00"):
        buy(wallet, 41, "0.005")
        buy(other, 19, "0.07", "eur")
    with at("2031-03-01T02:00"):
        rebuild()
    with at("2031-03-04T09:17:31"):
        buy(wallet, 3, "0.0125")  # $0.0375 -> $0.04
        used = spend(wallet, 40)
        services.hold(wallet=wallet, amount=2, actor=ACTOR, idempotency_key=key())
        services.transfer(
            sender=other, receiver=wallet, amount=5, actor=ACTOR, idempotency_key=key()
        )
        services.refund(transaction=used, amount=1, actor=ACTOR, idempotency_key=key())
    with at("2031-03-04T09:17:32"):
        lines = {line.label: line.value for line in overview(staff)}
        for code in ("usd", "eur"):
            (live,) = money.liabilities_at([datetime.now(UTC)], code, live=True)
            shown = figures.money(money.to_minor(live.money, code), code)
            assert lines[f"Deferred revenue now ({code.upper()})"] == shown
            liabilities_same([datetime.now(UTC)], code)
        now = [datetime.now(UTC)]
        assert money.liabilities_at(now, "usd")[0].credits == 41 + 3 - 40 + 1
        assert money.liabilities_at(now, "eur")[0].credits == 19  # moved in euros, still owed


# --- A property: random ledgers, random rebuilds, every month and moment ----------------------

START = datetime(2031, 1, 1, tzinfo=UTC)
CURRENCIES = ("usd", "eur", "jpy")
BASES = {"usd": ("0.005", "0.0125", "0.00833333"), "eur": ("0.07", "0.005"), "jpy": ("1.5", "0.5")}
# The kinds of step, the commoner ones twice.
KINDS = [
    "buy",
    "buy",
    "spend",
    "spend",
    "hold",
    "transfer",
    "refund",
    "revoke",
    "adjust",
    "expire",
    "rebuild",
    "rebuild",
    "rebuild_from",
    "late_buy",
    "check",
]
STEP = st.tuples(
    st.integers(1, 60),  # hours after the last step
    st.sampled_from(KINDS),
    st.integers(0, 10**6),  # the step's own choices
)


class Ledger:
    """Three users' wallets moved by the steps; what was spent or expired, to refund."""

    def __init__(self):
        self.wallets = [UserFactory().wallet for _ in range(3)]
        self.refundable: list[CreditTransaction] = []

    def step(self, kind: str, seed: int, now: datetime) -> None:
        wallet = self.wallets[seed % 3]
        other = self.wallets[(seed + 1) % 3]
        amount = 1 + seed % 37
        common = {"actor": ACTOR, "idempotency_key": key()}
        with suppress(CreditError):
            if kind in ("buy", "late_buy"):
                currency = CURRENCIES[seed % 3]
                bases = BASES[currency]
                expiry = now + timedelta(days=1 + seed % 40, hours=seed % 24)
                buy(wallet, 5 + seed % 80, bases[seed % len(bases)], currency, expires_at=expiry)
            elif kind == "spend":
                self.refundable.append(spend(wallet, amount))
            elif kind == "hold":
                held = services.hold(wallet=wallet, amount=amount, **common).hold
                if seed % 3:
                    services.capture(hold=held, amount=amount // 2 or 1, **common)
                else:
                    services.release(hold=held, **common)
            elif kind == "transfer":
                services.transfer(sender=wallet, receiver=other, amount=amount, **common)
            elif kind == "refund" and self.refundable:
                original = self.refundable[seed % len(self.refundable)]
                services.refund(transaction=original, amount=1 + seed % 5, **common)
            elif kind == "revoke":
                grant = wallet.grants.filter(remaining__gt=0).order_by("pk").last()
                if grant is not None:
                    services.revoke(grant=grant, amount=amount, reason="refunded", **common)
            elif kind == "adjust":
                services.adjust(wallet=wallet, amount=1 + seed % 4, reason="correction", **common)
            elif kind == "expire":
                self.refundable += [
                    txn
                    for grant in services.due_grants(now=now)
                    if (txn := services.expire(grant=grant, actor=ACTOR, now=now)) is not None
                ]


def every_figure_is_the_ledgers(now: datetime, seed: int) -> int:
    """Every month from the one before the ledger to the one after now, alone and as one range,
    and the liabilities at now, at month starts and at an hour of the past: the snapshots' and
    the ledger's, equal. Returns how many figures came from snapshots."""
    names = []
    day = START - timedelta(days=1)
    while day < now + timedelta(days=32):
        names.append(f"{day:%Y-%m}")
        day = (day.replace(day=1) + timedelta(days=32)).replace(day=1)
    read = 0
    past = START + (now - START) * (seed % 100) / 100
    moments = [now, past, *(months(name).since for name in names)]
    for currency in CURRENCIES:
        for first, last in [(name, name) for name in names] + [(names[0], names[-1])]:
            found = deferred(first, last, currency)
            live = deferred(first, last, currency, live=True)
            assert found.figures() == live.figures(), (first, last, currency)
            assert found.report().tables[0].rows == live.report().tables[0].rows
            read += found.snapshots is not None
        liabilities_same(moments, currency)
    return read


@pytest.mark.django_db
@settings(
    max_examples=int(os.environ.get("SNAPSHOT_EXAMPLES", 30)),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(STEP, min_size=8, max_size=30))
def test_any_ledger_rebuilt_at_any_points_reads_the_ledgers_figures(steps):
    with transaction.atomic():
        now, read = START, 0
        with time_machine.travel(now, tick=False) as clock:
            ledger = Ledger()
            for hours, kind, seed in steps:
                now += timedelta(hours=hours, minutes=seed % 60)
                clock.move_to(now)
                if kind == "rebuild":
                    rebuild()
                elif kind == "rebuild_from":
                    with suppress(CommandError):  # a day not settled yet: refused, one line
                        rebuild("--from", f"{now - timedelta(days=seed % 50):%Y-%m-%d}")
                elif kind == "late_buy":  # written now, dated days ago
                    clock.move_to(now - timedelta(hours=1 + seed % 240))
                    ledger.step(kind, seed, datetime.now(UTC))
                    clock.move_to(now)
                elif kind == "check":
                    read += every_figure_is_the_ledgers(now, seed)
                else:
                    ledger.step(kind, seed, now)
            read += every_figure_is_the_ledgers(now, steps[0][2])
            # And freshly rebuilt, the pages read the snapshots: the comparisons tested them.
            clock.move_to(now + timedelta(hours=2))
            rebuild()
            assert every_figure_is_the_ledgers(now + timedelta(hours=2), steps[-1][2]) > 0
        transaction.set_rollback(True)


# --- Two rebuilds at once (PostgreSQL's table lock) ----------------------------------------------


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the lock is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_second_rebuild_waits_for_the_first_then_starts_where_it_ended():
    wallet = UserFactory().wallet
    with at("2031-02-10T08:00"):
        buy(wallet, 41, "0.005")
        spend(wallet, 3)
    first_done, let_commit, printed = threading.Event(), threading.Event(), {}

    def first():
        with transaction.atomic():  # holds the lock until told to commit
            printed["first"] = rebuild()
            first_done.set()
            let_commit.wait(10)
        connection.close()

    def second():
        first_done.wait(10)
        printed["second"] = rebuild()
        connection.close()

    with at("2031-03-01T02:00"):
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        first_done.wait(10)
        threads[1].join(1)
        assert threads[1].is_alive(), "the second rebuild did not wait for the first"
        let_commit.set()
        for thread in threads:
            thread.join(10)
        assert "from 2031-02-10" in printed["first"], printed
        assert "from 2031-03-01" in printed["second"], printed  # nothing left to redo
        assert SnapshotBuild.objects.count() == 2
        same_as_the_ledger("2031-02", "2031-03", "usd")
