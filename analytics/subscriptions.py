"""Subscriptions in a period: MRR at each month's end and how it moved (ChartMogul's new,
expansion, reactivation, contraction and churn), the subscribers, and the credits rolled over.

MRR comes from what was billed, never from a subscription's current plan or status (which the
webhooks overwrite): a subscription's MRR at a month's end is the paid invoice whose period
covers the month's last moment, normalised to a month. So a past month's figures stay as they
were, unless Stripe later reports a payment for a period already past (a retry that succeeded
late), which then counts where its period lies. A month under way (or to come) ends now, as
ChartMogul's current month does: its own end would count every subscription that renews later
in it as churned.

Movements are tracked per customer (the user), as ChartMogul does: a customer who cancels and
subscribes again later (a new Stripe subscription) is a reactivation, not a new customer.
Which invoice covers each month's end is decided in SQL (one correlated subquery per month's
end, all in one query); Python then rounds each subscription's figure once, adds them up per
customer and names each customer's movement.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import Case, Exists, F, IntegerField, OuterRef, Q, Subquery, Sum, When
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from analytics.money import ZERO, to_minor
from analytics.periods import Period
from analytics.report import Report, Table
from billing.models import Subscription, SubscriptionInvoice

MOVEMENTS = ("new", "expansion", "reactivation", "contraction", "churn")
GROWING = ("new", "expansion", "reactivation")  # added to MRR; the others are taken from it
HALF_A_YEAR = timedelta(days=183)


@dataclass
class MonthMrr:
    """One month: MRR at its start and end, what moved it, and its customers."""

    start: datetime
    opening: Decimal
    closing: Decimal
    movements: dict[str, Decimal]
    customers: dict[str, int]  # how many customers made each movement
    subscribers_opening: int = 0
    subscribers: int = 0  # at the month's end
    rollover: int = 0  # credits rolled over into periods invoiced in the month

    @property
    def label(self) -> str:
        return f"{self.start:%Y-%m}"

    @property
    def expected_closing(self) -> Decimal:
        moved = self.movements
        return (
            self.opening
            + sum(moved[name] for name in GROWING)
            - moved["contraction"]
            - (moved["churn"])
        )

    @property
    def expected_subscribers(self) -> int:
        counted = self.customers
        return (
            self.subscribers_opening + counted["new"] + counted["reactivation"] - (counted["churn"])
        )

    @property
    def closes(self) -> bool:
        return self.expected_closing == self.closing and (
            self.expected_subscribers == self.subscribers
        )


@dataclass
class Subscriptions:
    period: Period
    currency: str
    months: list[MonthMrr] = field(default_factory=list)

    def figures(self) -> dict[str, dict[str, int | Decimal | bool]]:
        """Each month's figures by name (YYYY-MM), as the report prints them."""
        found = {}
        for month in self.months:
            found[month.label] = {
                "opening_mrr": month.opening,
                **month.movements,
                "closing_mrr": month.closing,
                "subscribers_opening": month.subscribers_opening,
                **{f"{name}_customers": count for name, count in month.customers.items()},
                "subscribers": month.subscribers,
                "rollover_credits": month.rollover,
                "closes": month.closes,
            }
        return found

    def report(self) -> Report:
        code = self.currency.upper()
        mrr = Table(
            caption=f"MRR in {code} and its movements by month, {self.period.label()}",
            columns=[
                "Month",
                "Opening MRR",
                "New",
                "Expansion",
                "Reactivation",
                "Less contraction",
                "Less churn",
                "Closing MRR",
            ],
            rows=[
                [m.label, m.opening, *(m.movements[name] for name in MOVEMENTS), m.closing]
                for m in self.months
            ],
            chart_column=7,
            currency=self.currency,
        )
        subscribers = Table(
            caption=f"Subscribers in {code} and rollover by month, {self.period.label()}",
            columns=[
                "Month",
                "Subscribers at the start",
                "New",
                "Reactivated",
                "Churned",
                "Subscribers at the end",
                "Expanded",
                "Contracted",
                "Credits rolled over",
            ],
            rows=[
                [
                    m.label,
                    m.subscribers_opening,
                    m.customers["new"],
                    m.customers["reactivation"],
                    m.customers["churn"],
                    m.subscribers,
                    m.customers["expansion"],
                    m.customers["contraction"],
                    m.rollover,
                ]
                for m in self.months
            ],
            chart_column=5,
        )
        return Report(
            title=f"Subscriptions ({code})",
            basis=SUBSCRIPTIONS_BASIS,
            tables=[mrr, subscribers],
            problems=[_problem(m, code) for m in self.months if not m.closes],
        )


SUBSCRIPTIONS_BASIS = (
    "MRR at a month's end (UTC) is made from paid invoices in this currency only, never from a "
    "subscription's current plan: each subscription counts the invoice whose period covers the "
    "month's last moment (it starts before the month's end and ends at or after it; cut short "
    "where Stripe ended the subscription; of two, the one starting later), its amount paid "
    "(discounts and proration included), a twelfth of it for a period of more than half a year "
    "(a yearly plan), rounded half-even to the minor unit once per subscription and month. A "
    "customer's MRR is their subscriptions' sum; movements are per customer (ChartMogul's "
    "definitions), from the previous month's end to this one's: new (none to some, never any at "
    "an earlier month's end), reactivation (none to some, some before), expansion and "
    "contraction (some to more or less), churn (some to none); a customer who comes and goes "
    "between two months' ends moves nothing. Opening MRR is the previous month's closing: "
    "opening + new + expansion + reactivation - contraction - churn = closing. Subscribers are "
    "customers with MRR above zero at a month's end. Credits rolled over are the unused credits "
    "carried into the periods of the invoices recorded in the month. The charts draw closing MRR "
    "and subscribers at each month's end. A month not over yet ends now: its closing MRR is "
    "today's, so a subscription that renews later in the month is not counted as churned."
)


def _problem(month: MonthMrr, code: str) -> str:
    return (
        f"{month.label}: opening MRR and its movements come to {month.expected_closing} {code} "
        f"and {month.expected_subscribers:,} subscribers; the month closes at {month.closing} "
        f"and {month.subscribers:,}."
    )


def subscriptions(period: Period, currency: str) -> Subscriptions:
    """MRR, its movements and subscribers for each month of `period`, in `currency` only."""
    # The opening's moment, then each month's end; a month under way ends now: at its end to
    # come, every subscription renewing later in the month would look churned.
    now = timezone.now()
    ends = [min(moment, now) for moment in (period.since, *(end for _, end in period.months))]
    rollover = _rollover_by_month(period, currency)
    months = [_month(start, currency, rollover.get(start, 0)) for start, _ in period.months]
    mrr = customer_mrr(ends, currency)
    # Whether a customer had MRR before the period matters only to those without it at its start.
    earlier = _had_mrr_before(period.since, currency, [c for c, f in mrr.items() if not f[0]])
    for customer, figures in mrr.items():
        _count(months, figures, had_mrr_before=customer in earlier)
    return Subscriptions(period=period, currency=currency, months=months)


def _month(start: datetime, currency: str, rollover: int) -> MonthMrr:
    nothing = to_minor(ZERO, currency)
    return MonthMrr(
        start=start,
        opening=nothing,
        closing=nothing,
        movements=dict.fromkeys(MOVEMENTS, nothing),
        customers=dict.fromkeys(MOVEMENTS, 0),
        rollover=rollover,
    )


def _count(months: list[MonthMrr], figures: list[Decimal], *, had_mrr_before: bool) -> None:
    """Add one customer to each month: their MRR at its start and end (`figures`: at each
    month's end, the opening's first) and how it moved."""
    first = next(index for index, figure in enumerate(figures) if figure)
    for index, month in enumerate(months):
        before, after = figures[index], figures[index + 1]
        month.opening += before
        month.closing += after
        month.subscribers_opening += before > 0
        month.subscribers += after > 0
        if before != after:
            movement = _movement(before, after, had_mrr=had_mrr_before or first < index)
            month.movements[movement] += abs(after - before)
            month.customers[movement] += 1


def _movement(before: Decimal, after: Decimal, *, had_mrr: bool) -> str:
    """How a customer's MRR moved from one month's end to the next (it did)."""
    if not before:
        return "reactivation" if had_mrr else "new"
    if not after:
        return "churn"
    return "expansion" if after > before else "contraction"


def customer_mrr(moments: list[datetime], currency: str) -> dict[int, list[Decimal]]:
    """Each customer's MRR at each of `moments` (months' ends): {user: [MRR at each]}.

    One query names, per subscription and moment, the invoice covering the moment's last
    instant; a second reads those invoices' amounts and the months they pay for. Each
    subscription's figure is rounded once, then added to its customer's."""
    covering = {
        f"at_{index}": _covering_invoice(moment, currency) for index, moment in enumerate(moments)
    }
    rows = list(
        Subscription.objects.filter(Exists(_invoices(moments, currency, OuterRef("pk"))))
        .annotate(ends=_ended_at())
        .annotate(**covering)
        .values_list("user_id", *covering)
    )
    monthly = {
        pk: to_minor(amount / months, currency)
        for pk, amount, months in _invoices(moments, currency)
        .annotate(months=_months_billed())
        .values_list("pk", "amount", "months")
    }
    nothing = to_minor(ZERO, currency)
    found: dict[int, list[Decimal]] = defaultdict(lambda: [nothing] * len(moments))
    for user, *invoices in rows:
        figures = found[user]
        for index, invoice in enumerate(invoices):
            if invoice is not None:
                figures[index] += monthly[invoice]
    # A customer whose invoices covered no month's end (or came to nothing) has no MRR here.
    return {user: figures for user, figures in found.items() if any(figures)}


def _invoices(moments: list[datetime], currency: str, subscription=None):
    """This currency's invoices whose periods reach from before the last moment to the first."""
    invoices = SubscriptionInvoice.objects.filter(
        currency__iexact=currency, period_start__lt=max(moments), period_end__gte=min(moments)
    )
    return invoices if subscription is None else invoices.filter(subscription=subscription)


def _covering_invoice(moment: datetime, currency: str):
    """The subscription's invoice in `currency` whose period covers the instant before `moment`
    (none once the subscription had ended by then)."""
    invoice = (
        SubscriptionInvoice.objects.filter(
            subscription=OuterRef("pk"),
            currency__iexact=currency,
            period_start__lt=moment,
            period_end__gte=moment,
        )
        .order_by("-period_start", "-pk")
        .values("pk")[:1]
    )
    return Case(When(Q(ends__isnull=True) | Q(ends__gte=moment), then=Subquery(invoice)))


def _ended_at(subscription: str = ""):
    """When Stripe ended the subscription (for one cancelled before ended_at was recorded: when
    its cancellation was applied), as billing.services.subscription_events reads it; `subscription`
    is the lookup path to it."""
    cancelled = When(
        **{f"{subscription}status": "canceled"}, then=F(f"{subscription}last_event_created")
    )
    return Coalesce(f"{subscription}ended_at", Case(cancelled))


def _months_billed():
    """How many months an invoice pays for, by its period's length (plans are monthly or
    yearly): 12 for a period of more than half a year, else 1."""
    yearly = Q(period_end__gt=F("period_start") + HALF_A_YEAR)
    return Case(When(yearly, then=12), default=1, output_field=IntegerField())


def _had_mrr_before(moment: datetime, currency: str, customers: list[int]) -> set[int]:
    """Those of `customers` with MRR at some month's end before the month ending at `moment`.

    An invoice covered a month's end b <= `earlier` (the month's end before `moment`) when its
    period started before b and lasted to b (and so did the subscription): when the start of
    the month its coverage ends in, capped at `earlier`, comes after the period's start."""
    if not customers:
        return set()
    earlier = (moment - timedelta(days=1)).replace(day=1)
    # All who had MRR, intersected here: a list of ids in the query could pass the database's
    # limit on parameters (65,535 on PostgreSQL) over a long period of many customers.
    return set(customers) & set(
        SubscriptionInvoice.objects.filter(
            currency__iexact=currency,
            amount__gt=0,
            period_start__lt=earlier,
        )
        .annotate(
            period_month=TruncMonth("period_end", tzinfo=UTC),
            ended_month=TruncMonth(_ended_at("subscription__"), tzinfo=UTC),
        )
        .filter(
            Q(ended_month__isnull=True) | Q(ended_month__gt=F("period_start")),
            period_month__gt=F("period_start"),
        )
        .values_list("subscription__user_id", flat=True)
        .order_by()
        .distinct()
    )


def _rollover_by_month(period: Period, currency: str) -> dict[datetime, int]:
    rows = (
        SubscriptionInvoice.objects.filter(
            currency__iexact=currency, created_at__gte=period.since, created_at__lt=period.until
        )
        .annotate(month=TruncMonth("created_at", tzinfo=UTC))
        .values("month")
        .annotate(credits=Sum("rollover_credits"))
        .order_by()
    )
    return {row["month"]: row["credits"] for row in rows}
