"""The analytics benchmark's ledger is one the services could have written: it reconciles, and
every month's credits flow and deferred revenue roll-forward close on it (a benchmark on data
that does not reconcile would measure nothing)."""

from datetime import UTC, datetime

import pytest
from django.db import connection

from analytics import bench, money
from analytics.flow import credits_flow
from analytics.periods import Period
from credits.reconciliation import reconcile

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the analytics bench builds with PostgreSQL's SQL"
)


@pytest.mark.django_db
def test_the_built_ledger_reconciles_and_every_month_closes():
    built = bench.build(users=20, months=3, first_month=datetime(2030, 1, 1, tzinfo=UTC))

    assert built.entries == 20 * 3 * 6
    assert reconcile().problems == []
    for since, until in built.period.months:
        flow = credits_flow(since=since, until=until)
        assert flow.closes, flow.problems
        assert (flow.issued, flow.consumed + flow.expired) == (20 * 100, 20 * 100)
        assert flow.expired == 10 * 40  # every other user's rest expires
        for currency in ("usd", "eur"):
            deferred = money.deferred_revenue(Period(since, until), currency)
            assert deferred.closes
            assert (deferred.opening.credits, deferred.closing.credits) == (0, 0)
    usd = money.revenue(built.period, "usd").total
    assert usd.packs == 16 * 3 * 1  # four users in five pay $1.00 a month
