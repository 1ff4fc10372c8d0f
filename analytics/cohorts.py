"""Cohorts: users grouped by the month of their first paid purchase, and what each cohort did in
each month since (month 0 is the cohort's own month): the share who spent credits, the credits
they used per user, and the share who bought again.

A paid purchase is a pack paid (analytics.money.pack_sales by `paid_at`) or a subscription
invoice paid (billing.SubscriptionInvoice by `created_at`), the revenue page's moments, in any
currency: a cohort counts people, not money. A plan's checkout is not a purchase of its own: its
payment is the first invoice's (as on the revenue page). Credits used are what spends and
captures took from grants in the user's wallet (their allocations), as the credits flow counts
consumption: gross, a refund of a spend is not netted out (the flow issues it again in the
refund's month).

The SQL sums per user and month (four grouped queries, whatever the period's length; a cohort's
members are found by semi- and anti-joins: paid in the period, never before); Python only adds
those sums up per cohort and month since.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from django.contrib.auth import get_user_model
from django.db.models import (
    Count,
    DateTimeField,
    Exists,
    F,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Least, TruncMonth
from django.utils import timezone

from analytics.money import pack_sales
from analytics.periods import Period
from analytics.report import Report, Table
from billing.models import SubscriptionInvoice
from credits.models import Allocation, CreditTransaction, Wallet

Kind = CreditTransaction.Kind
USED_KINDS = (Kind.SPEND, Kind.CAPTURE)  # consumption, as analytics.flow counts it
# Later than any purchase: stands in for a kind of purchase a member never made.
NEVER = Value(datetime(9999, 12, 31, tzinfo=UTC), output_field=DateTimeField())


@dataclass
class MonthSince:
    """One cohort's figures in one month since its first purchases."""

    spenders: int = 0  # users of the cohort who spent or had a hold captured
    used: int = 0  # credits their spends and captures took
    repeaters: int = 0  # users of the cohort who paid again (not their first purchase)


@dataclass
class Cohort:
    start: datetime  # the month of its users' first paid purchase
    users: int = 0
    months: list[MonthSince] = field(default_factory=list)  # month 0, 1, ... to the end

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"

    def spent_shares(self) -> list[str | None]:
        return [share(m.spenders, self.users) for m in self.months]

    def used_per_user(self) -> list[int | None]:
        """Credits used per user of the cohort (spender or not), rounded down to a credit."""
        return [m.used // self.users if self.users else None for m in self.months]

    def repeat_shares(self) -> list[str | None]:
        return [share(m.repeaters, self.users) for m in self.months]


@dataclass
class Cohorts:
    period: Period
    cohorts: list[Cohort]  # each month of the period up to this month, empty ones too

    @property
    def width(self) -> int:
        """Months since the first cohort's month up to the end: the triangle's columns."""
        return len(self.cohorts[0].months) if self.cohorts else 0

    def figures(self) -> dict[str, dict]:
        """Each cohort's figures by its month (YYYY-MM), one list entry per month since."""
        return {
            c.label: {
                "users": c.users,
                "spenders": [m.spenders for m in c.months],
                "used": [m.used for m in c.months],
                "repeaters": [m.repeaters for m in c.months],
                "spent_share": c.spent_shares(),
                "used_per_user": c.used_per_user(),
                "repeat_share": c.repeat_shares(),
            }
            for c in self.cohorts
        }

    def report(self) -> Report:
        label = self.period.label()
        # One chart is enough: every table would draw the same cohort sizes.
        tables = [
            self._table(f"Share of each cohort who spent credits, {label}", Cohort.spent_shares),
            self._table(
                f"Credits used per user of each cohort, {label}",
                Cohort.used_per_user,
                charted=False,
            ),
            self._table(
                f"Share of each cohort who bought again (repeat purchases), {label}",
                Cohort.repeat_shares,
                charted=False,
            ),
        ]
        return Report(title="Cohorts", basis=COHORTS_BASIS, tables=tables)

    def _table(self, caption: str, cells, *, charted: bool = True) -> Table:
        columns = ["Cohort (first paid purchase)", "Users"]
        columns += [f"Month {index}" for index in range(self.width)]
        rows = []
        for cohort in self.cohorts:
            shown = cells(cohort)
            rows.append([cohort.label, cohort.users, *shown, *[None] * (self.width - len(shown))])
        return Table(
            caption=caption, columns=columns, rows=rows, chart_column=1 if charted else None
        )


COHORTS_BASIS = (
    "Users are grouped by the month (UTC) of their first paid purchase: a pack paid or a "
    "subscription invoice paid, in any currency (a cohort counts people, not money; a purchase "
    "refunded or charged back later still counts; a plan's checkout is its first invoice, one "
    "purchase). The period chooses the cohorts (those whose "
    "first purchase falls in it) and how far they are followed: to the period's last month, or "
    "this month if that is sooner. Month 0 is the cohort's own calendar month, month 1 the next, "
    "and so on. Share who spent: users of the cohort with a spend or a hold captured in that "
    "month. Credits used per user: what those spends and captures took from the users' wallets, "
    "gross as the credits flow counts consumption (a refund of a spend is not netted out), "
    "divided by the cohort's size and rounded down to a whole credit. Repeat purchases: users of "
    "the cohort who paid for another pack or subscription invoice in that month, their first "
    "purchase not counted (so month 0 counts a second purchase in the cohort's own month). "
    "Shares are of the cohort's size, rounded half-even to a tenth of a percent; the chart "
    "draws each cohort's size."
)


def share(part: int, whole: int) -> str | None:
    if not whole:
        return None
    percent = (Decimal(part) * 100 / whole).quantize(Decimal("0.1"), ROUND_HALF_EVEN)
    return f"{percent}%"


def cohorts(period: Period) -> Cohorts:
    """The period's cohorts and their months since, to the period's end or this month's."""
    until = min(period.until, _month_index_start(_index(timezone.now()) + 1))
    found = {
        start: Cohort(start, months=[MonthSince() for _ in range(_index(until) - _index(start))])
        for start, _ in period.months
        if start < until
    }
    members = _members(period.since, until)
    first_paid = members.annotate(cohort=TruncMonth(_first_paid(), tzinfo=UTC)).order_by()
    cohort_of = dict(first_paid.values_list("pk", "cohort"))
    for start, size in Counter(cohort_of.values()).items():
        found[start].users = size

    def month_since(user_id: int, month: datetime) -> MonthSince | None:
        """A member's month in their cohort's row; None before the cohort's month, or for a
        user whose first purchase was paid while the page was being made (not in its sizes)."""
        start = cohort_of.get(user_id)
        if start is None or month < start:
            return None
        return found[start].months[_index(month) - _index(start)]

    member_ids = members.values("pk")
    for row in _used(member_ids, period.since, until):
        cell = month_since(row["user"], row["month"])
        if cell is not None:
            cell.spenders += 1
            cell.used += row["used"]
    for (user_id, month), payments in _payments(member_ids, period.since, until).items():
        cell = month_since(user_id, month)
        # The first purchase is the earliest, so it lies in month 0: not a repeat.
        again = payments - 1 if month == cohort_of.get(user_id) else payments
        if cell is not None and again > 0:
            cell.repeaters += 1
    return Cohorts(period=period, cohorts=list(found.values()))


def _first_paid():
    """Each user's (OuterRef("pk")) first paid purchase: the earliest pack or invoice paid."""
    pack = Subquery(
        pack_sales()
        .filter(user=OuterRef("pk"))
        .order_by()
        .values("user")
        .annotate(first=Min("paid_at"))
        .values("first")
    )
    invoice = Subquery(
        SubscriptionInvoice.objects.filter(subscription__user=OuterRef("pk"))
        .order_by()
        .values("subscription__user")
        .annotate(first=Min("created_at"))
        .values("first")
    )
    # LEAST with a NULL is NULL on SQLite (MIN of two values), so a missing side is NEVER.
    return Least(Coalesce(pack, NEVER), Coalesce(invoice, NEVER))


def _members(since: datetime, until: datetime):
    """The users whose first paid purchase lies in [since, until): who paid in it and never
    before (semi- and anti-joins, so the queries on the ledger need no subquery per user)."""
    return get_user_model().objects.filter(
        _paid(gte=since, lt=until),
        ~Exists(_packs(lt=since)),
        ~Exists(_invoices(lt=since)),
    )


def _paid(**moment) -> Q:
    return Exists(_packs(**moment)) | Exists(_invoices(**moment))


def _packs(**moment):
    """The packs the user (OuterRef("pk")) paid at a moment with these lookups (lt=...)."""
    paid_at = {f"paid_at__{lookup}": value for lookup, value in moment.items()}
    return pack_sales().filter(user=OuterRef("pk"), **paid_at)


def _invoices(**moment):
    created_at = {f"created_at__{lookup}": value for lookup, value in moment.items()}
    return SubscriptionInvoice.objects.filter(subscription__user=OuterRef("pk"), **created_at)


def _used(member_ids, since: datetime, until: datetime):
    """Per member and month: the credits their spends and captures took from their wallet."""
    return (
        Allocation.objects.filter(
            transaction__kind__in=USED_KINDS,
            transaction__created_at__gte=since,
            transaction__created_at__lt=until,
            grant__wallet__kind=Wallet.Kind.USER,
            grant__wallet__user__in=member_ids,
        )
        .annotate(
            user=F("grant__wallet__user"), month=TruncMonth("transaction__created_at", tzinfo=UTC)
        )
        .values("user", "month")
        .annotate(used=Sum("amount"))
        .order_by()
    )


def _payments(member_ids, since: datetime, until: datetime) -> Counter:
    """Per (member, month): how many packs and subscription invoices they paid."""
    found = Counter()
    for paid, user, moment in (
        (pack_sales(), "user", "paid_at"),
        (SubscriptionInvoice.objects.all(), "subscription__user", "created_at"),
    ):
        rows = (
            paid.filter(
                **{f"{user}__in": member_ids, f"{moment}__gte": since, f"{moment}__lt": until},
            )
            .annotate(month=TruncMonth(moment, tzinfo=UTC))
            .values_list(user, "month")
            .annotate(payments=Count("pk"))
            .order_by()
        )
        for user_id, month, payments in rows:
            found[user_id, month] += payments
    return found


def _index(moment: datetime) -> int:
    """A month's number (years x 12 + month - 1): months since are differences of them."""
    return moment.year * 12 + moment.month - 1


def _month_index_start(index: int) -> datetime:
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)
