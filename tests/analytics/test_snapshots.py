"""The daily snapshots: what `analytics_rebuild` writes gives the pages exactly the figures the
ledger gives, in every month and range and in both currencies; a transaction written later but
dated inside the rebuilt days sends the pages back to the ledger, and the next rebuild mends
from that day; a bad `--from` is one line and changes nothing."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from analytics import money
from analytics.models import LiabilityDay, SnapshotBuild
from analytics.periods import months
from credits import services
from credits.models import CreditGrant
from tests.analytics.test_credits_flow import at
from tests.analytics.test_money import MONTHS, awkward_ledger  # noqa: F401 (the fixture)
from tests.analytics.test_pages import analyst
from tests.credits.conftest import ACTOR, key
from tests.pages import text

ROW = ("day", "currency", "line", "credits", "money")
RANGES = [(name, name) for name in MONTHS] + [(MONTHS[0], MONTHS[-1]), (MONTHS[1], "2031-06")]


def rebuild(*args: str) -> str:
    out = StringIO()
    call_command("analytics_rebuild", *args, stdout=out)
    return out.getvalue()


def figures(first: str, last: str, currency: str, **options) -> dict:
    deferred = money.deferred_revenue(months(first, last), currency, **options)
    return {**deferred.figures(), "cohorts": deferred.cohorts, "closes": deferred.closes}


def the_same_as_the_ledger() -> None:
    for currency in ("usd", "eur"):
        for first, last in RANGES:
            read = money.deferred_revenue(months(first, last), currency)
            assert read.snapshots is not None, "the snapshots were not read"
            assert figures(first, last, currency) == figures(first, last, currency, live=True)
        ends = [months(name).until for name in MONTHS]
        assert money.liabilities_at(ends, currency) == money.liabilities_at(
            ends, currency, live=True
        )


def test_rebuilt_figures_equal_the_ledgers_in_every_month_range_and_currency(awkward_ledger):  # noqa: F811
    with at("2031-06-01T02:00"):
        printed = rebuild()
        assert "Snapshots cover the beginning to 2031-06-01" in printed
        assert LiabilityDay.objects.filter(line=LiabilityDay.OPENING).count() > 2 * 120
        the_same_as_the_ledger()
        # The ledger's sums moved: the comparison could see a wrong row.
        assert money.deferred_revenue(months(MONTHS[-1]), "usd").lines["breakage"].credits < 0


def test_what_the_ledger_wrote_after_the_rebuild_is_walked_live(awkward_ledger):  # noqa: F811
    with at("2031-06-01T02:00"):
        rebuild()
    wallet = CreditGrant.objects.filter(currency="usd").first().wallet
    with at("2031-06-03T10:00"):
        services.grant(
            wallet=wallet, amount=7, source=CreditGrant.Source.PURCHASE,
            cost_basis=Decimal("0.0125"), currency="usd", actor=ACTOR, idempotency_key=key(),
        )  # fmt: skip
        services.spend(wallet=wallet, amount=5, actor=ACTOR, idempotency_key=key())
    with at("2031-06-04T00:00"):
        june = money.deferred_revenue(months("2031-06"), "usd")
        assert june.snapshots is not None
        assert june.lines["issued"].credits == 7
        the_same_as_the_ledger()


def test_a_transaction_dated_inside_the_rebuilt_days_sends_the_pages_to_the_ledger(
    awkward_ledger,  # noqa: F811
):
    with at("2031-06-01T02:00"):
        rebuild()
    wallet = CreditGrant.objects.filter(currency="usd").first().wallet
    with at("2031-03-10T08:00"):  # written after the rebuild, dated before its end
        services.grant(
            wallet=wallet, amount=11, source=CreditGrant.Source.PURCHASE,
            cost_basis=Decimal("0.005"), currency="usd", actor=ACTOR, idempotency_key=key(),
        )  # fmt: skip
    with at("2031-06-01T03:00"):
        march = money.deferred_revenue(months("2031-03"), "usd")
        assert march.snapshots is None  # untrue now: read from the ledger
        live = money.deferred_revenue(months("2031-03"), "usd", live=True)
        assert march.figures() == live.figures()
        assert march.lines["issued"].credits == live.lines["issued"].credits
        printed = rebuild()
        assert "from 2031-03-10" in printed, printed  # mended from the late day, not all
        assert "to 2031-06-01" in printed
        the_same_as_the_ledger()
        assert "from 2031-06-01" in rebuild()  # nothing late since: it starts at its end


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("asked", "says"),
    [
        ("2031-02-30", "'2031-02-30' is not a day: give it as YYYY-MM-DD."),
        ("soon", "'soon' is not a day: give it as YYYY-MM-DD."),
        ("2031-06-01", "--from 2031-06-01 has not settled yet"),
    ],
)
def test_a_bad_from_is_one_line_and_writes_nothing(asked, says):
    with at("2031-06-01T00:30"), pytest.raises(CommandError) as refused:
        rebuild("--from", asked)
    assert says in str(refused.value)
    assert "\n" not in str(refused.value)
    assert not SnapshotBuild.objects.exists()
    assert not LiabilityDay.objects.exists()


def test_rebuilding_from_a_day_rewrites_the_same_rows(awkward_ledger):  # noqa: F811
    with at("2031-06-01T02:00"):
        rebuild()
        first = sorted(LiabilityDay.objects.values_list(*ROW))
        printed = rebuild("--from", "2031-02-15")
        again = sorted(LiabilityDay.objects.values_list(*ROW))
    assert "from 2031-02-15" in printed
    assert again == first
    # The days before 2031-02-15 stayed as the first rebuild wrote them: still true from the start.
    assert (
        SnapshotBuild.objects.latest().since == SnapshotBuild.objects.order_by("pk").first().since
    )


def test_the_page_says_where_its_figures_come_from(client, awkward_ledger):  # noqa: F811
    url = reverse("admin:analytics_deferredrevenue_changelist")
    with at("2031-06-01T02:00"):
        analyst(client)
        before = text(client.get(url, {"from": "2031-03", "currency": "usd"}))
        rebuild()
        after = text(client.get(url, {"from": "2031-03", "currency": "usd"}))
    assert "Read from the ledger." in before
    assert "days before 2031-06-01 are read from the daily snapshots" in after
