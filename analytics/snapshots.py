"""Daily snapshots of the deferred revenue roll-forward, so a page over years of ledger reads a
few hundred rows instead of walking every allocation.

`rebuild()` (`manage.py analytics_rebuild`) walks the ledger as the live report does
(analytics.money: the same movements, the same rounding) and writes, per currency and UTC day,
the liability at the day's start and each line's change over the day. The pages read them only
while they are true: a rebuild records the last transaction it saw, and any transaction written
after it but dated inside the rebuilt days (time travel in a test, a restore) sends the pages
back to the live ledger until the next rebuild, which starts again from the first such day.

Only whole days that ended an hour before the rebuild are written (SETTLE): a transaction that
commits late still has the time it started, and must not land in a day already written.
"""

import time as clock
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone

from analytics import money
from analytics.models import LiabilityDay, SnapshotBuild
from analytics.periods import day_start
from credits.models import CreditGrant, CreditTransaction

SETTLE = timedelta(hours=1)
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


class RebuildError(Exception):
    """The snapshots could not be made true: nothing was written."""


@dataclass(frozen=True)
class Rebuilt:
    build: SnapshotBuild
    start: datetime  # the first day written by this rebuild
    rows: int
    seconds: float


def rebuild(*, since: date | None = None) -> Rebuilt:
    """Writes the days from `since` (or where the snapshots stop being true) to the last day
    that has settled, replacing what was there; the days before stay as they were."""
    started = clock.perf_counter()
    now = timezone.now()
    until = day_start(now - SETTLE)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # One rebuild at a time: a second waits, then starts from what the first wrote.
            with connection.cursor() as cursor:
                cursor.execute(f"LOCK TABLE {SnapshotBuild._meta.db_table} IN EXCLUSIVE MODE")
        previous = SnapshotBuild.objects.order_by("-pk").first()
        start = _start(since, previous, until)
        # Read first: what commits during the walk has a later id and shows as late.
        through = CreditTransaction.objects.aggregate(last=Max("pk"))["last"] or 0
        rows = [day for currency in _currencies(until) for day in _days(start, until, currency)]
        LiabilityDay.objects.filter(day__gte=start.date()).delete()
        LiabilityDay.objects.bulk_create(rows, batch_size=2000)
        build = SnapshotBuild.objects.create(
            since=_covered_since(start, previous, since),
            until=until,
            through_transaction=through,
            built_at=now,
        )
    return Rebuilt(build, start, len(rows), clock.perf_counter() - started)


def _start(since: date | None, previous: SnapshotBuild | None, until: datetime) -> datetime:
    """Where to write from: the day asked, but never past where the last build stops being
    true (no gap is left), and by default from there or from the first paid grant's day."""
    if since is not None:
        asked = datetime(since.year, since.month, since.day, tzinfo=UTC)
        if asked > until:
            raise RebuildError(
                f"--from {since} has not settled yet: the last day that can be written is "
                f"{(until - timedelta(days=1)):%Y-%m-%d}."
            )
        return min(asked, _true_until(previous)) if previous else asked
    if previous is not None:
        return _true_until(previous)
    first = CreditGrant.objects.filter(cost_basis__isnull=False).aggregate(at=Min("created_at"))
    return day_start(first["at"]) if first["at"] else until


def _covered_since(start: datetime, previous: SnapshotBuild | None, since: date | None):
    """Where the snapshots are true from. Before the first paid grant nothing was owed, so a
    first build from there is true from the beginning (a period starting earlier reads it)."""
    if previous is not None:
        return min(previous.since, start)
    return start if since is not None else BEGINNING


def _true_until(build: SnapshotBuild) -> datetime:
    """The end of what `build` wrote that is still true: the day of the first transaction
    dated inside it but written after it."""
    late = CreditTransaction.objects.filter(
        pk__gt=build.through_transaction, created_at__lt=build.until
    ).aggregate(at=Min("created_at"))["at"]
    return day_start(late) if late else build.until


def _currencies(until: datetime) -> list[str]:
    grants = CreditGrant.objects.filter(cost_basis__isnull=False, created_at__lt=until)
    return sorted({code.lower() for code in grants.values_list("currency", flat=True).distinct()})


def _days(start: datetime, until: datetime, currency: str) -> list[LiabilityDay]:
    """The rows of [start, until) in one currency, walked a month at a time (memory stays a
    month's movements), then the opening row of `until` itself."""
    (owed_then,) = money.owed_at((start,), currency)
    position = money.liability(owed_then, currency)
    owed = {grant: credits for grant, (credits, _) in owed_then.items()}
    rows = []
    for since, upto in _spans(start, until):
        changed: dict[tuple[date, str], money.Figure] = {}
        for movement in money.movements(since, upto, currency):
            worth = money.walked(owed, movement, currency)
            key = (movement.moment.astimezone(UTC).date(), movement.line)
            changed.setdefault(key, money.Figure(0, money.ZERO)).add(movement.change, worth)
        day = since
        while day < upto:
            rows.append(_row(day.date(), currency, LiabilityDay.OPENING, position))
            for line in money.LINES:
                figure = changed.get((day.date(), line))
                if figure is not None:
                    rows.append(_row(day.date(), currency, line, figure))
                    position.add(figure.credits, figure.money)
            day += timedelta(days=1)
    rows.append(_row(until.date(), currency, LiabilityDay.OPENING, position))
    (ledger,) = money.liabilities_at([until], currency, live=True)
    if ledger != position:
        raise RebuildError(
            f"The {currency.upper()} roll-forward walked to {position.credits:,} credits and "
            f"{position.money} on {until:%Y-%m-%d}, but the ledger owes {ledger.credits:,} and "
            f"{ledger.money}: nothing was written."
        )
    return rows


def _spans(start: datetime, until: datetime):
    since = start
    while since < until:
        upto = min(until, since + timedelta(days=31))
        yield since, upto
        since = upto


def _row(day: date, currency: str, line: str, figure: money.Figure) -> LiabilityDay:
    return LiabilityDay(
        day=day, currency=currency, line=line, credits=figure.credits, money=figure.money
    )
