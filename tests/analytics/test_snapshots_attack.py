"""Attacks on the daily snapshots of the deferred revenue roll-forward: wherever the pages read
them (any period of whole months, any currency, any moment), they must give exactly what the
ledger gives (`live=True`). Each test builds the ledger through credits.services at set times,
rebuilds at the awkward moment it is about, then compares the snapshots' figures with the
ledger's (and, where the snapshots must be read, checks that they were)."""

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from analytics import money
from analytics.models import LiabilityDay, SnapshotBuild
from analytics.periods import months
from credits import services
from credits.models import CreditGrant, CreditTransaction
from tests.analytics.test_credits_flow import at
from tests.analytics.test_pages import analyst
from tests.credits.conftest import ACTOR, key
from tests.factories import UserFactory

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


def used_snapshots() -> bool:
    """Whether the latest rebuild is one the pages may read (not stale)."""
    build = SnapshotBuild.objects.order_by("-pk").first()
    return build is not None and money._usable_build(build.since) is not None


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
