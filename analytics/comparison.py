"""The overview: a period's headline figures beside the period of as many months before it.

Each figure is the one its own page gives (revenue from analytics.money, credits from the
ledger's entries and grants as analytics.flow counts them, the liability as the deferred revenue
page's closing), so the overview never disagrees with the page behind it; a test holds them
equal. Money in one currency; credits and counts in all.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from analytics import money
from analytics.flow import CONSUMED_KINDS, ISSUED_SOURCES, ON_USER_WALLETS, held_at
from analytics.periods import Period
from analytics.report import Report, Table
from credits.models import CreditGrant, CreditTransaction, Entry, Wallet
from disputes.models import Dispute

Kind = CreditTransaction.Kind
# A user is active in a period when credits of theirs were consumed in it (a spend, or a
# capture by a job or an app). Not holds: billing holds a disputed payment's credits too.
ACTIVE_KINDS = CONSUMED_KINDS


@dataclass
class Overview:
    period: Period
    previous: Period | None  # none before year 1
    currency: str
    figures: list[tuple[str, int | Decimal, int | Decimal | None]]

    def report(self) -> Report:
        code = self.currency.upper()
        before = self.previous.label() if self.previous else "none"
        rows = [
            [label, now, then, None if then is None else now - then]
            for label, now, then in self.figures
        ]
        table = Table(
            caption=f"Overview, {self.period.label()} against {before}",
            columns=["Figure", "This period", "Previous period", "Change"],
            rows=rows,
            charted=tuple(label for label, *_ in self.figures if "credits" in label.lower()),
            currency=self.currency,
        )
        return Report(title=f"Overview ({code})", basis=BASIS, tables=[table])


BASIS = (
    "Each figure as its own page makes it: revenue (cash, by month in UTC, refunds and "
    "chargebacks in their own month), credits issued by new grants from purchases, "
    "subscriptions, promotions and staff (paid or promotional by the grant's flag), consumed and "
    "expired from the ledger's entries on users' wallets, the deferred revenue and open holds at "
    "the period's end, users whose credits were consumed in it (a spend or a capture), and "
    "disputes open at its end. "
    "Money in the currency picked; credits and counts in all."
)


def overview(period: Period, currency: str) -> Overview:
    try:
        previous = period.previous
    except ValueError:  # a period starting in year 1 has none before it
        previous = None
    spans = [period] + ([previous] if previous else [])
    found = [_figures(span, currency) for span in spans]
    labels = found[0].keys()
    return Overview(
        period=period,
        previous=previous,
        currency=currency,
        figures=[
            (label, found[0][label], found[1][label] if previous else None) for label in labels
        ],
    )


def _figures(period: Period, currency: str) -> dict[str, int | Decimal]:
    end = min(period.until, timezone.now())
    revenue = money.revenue(period, currency).total
    issued = _issued(period)
    moved = _moved(period)
    return {
        f"Gross revenue ({currency.upper()})": revenue.gross,
        f"Net revenue ({currency.upper()})": revenue.net,
        "Credits issued, paid": issued["paid"],
        "Credits issued, promotional": issued["promotional"],
        "Credits consumed": moved["consumed"],
        "Credits expired": moved["expired"],
        f"Deferred revenue at the end ({currency.upper()})": money.liability_at(
            period.until, currency
        ).money,
        "Credits held by open holds at the end": held_at(end),
        "Active users": _active_users(period),
        "Disputes open at the end": _open_disputes(end),
    }


def _in(period: Period, prefix: str = "") -> Q:
    return Q(**{f"{prefix}created_at__gte": period.since, f"{prefix}created_at__lt": period.until})


def _issued(period: Period) -> dict[str, int]:
    totals = CreditGrant.objects.filter(
        _in(period), source__in=ISSUED_SOURCES, wallet__kind=Wallet.Kind.USER
    ).aggregate(
        paid=Sum("amount", filter=Q(is_promotional=False)),
        promotional=Sum("amount", filter=Q(is_promotional=True)),
    )
    return {name: total or 0 for name, total in totals.items()}


def _moved(period: Period) -> dict[str, int]:
    totals = Entry.objects.filter(ON_USER_WALLETS, _in(period)).aggregate(
        consumed=Sum("amount", filter=Q(transaction__kind__in=CONSUMED_KINDS)),
        expired=Sum("amount", filter=Q(transaction__kind=Kind.EXPIRY)),
    )
    return {name: -(total or 0) for name, total in totals.items()}


def _active_users(period: Period) -> int:
    return CreditTransaction.objects.filter(
        _in(period), kind__in=ACTIVE_KINDS, wallet__kind=Wallet.Kind.USER
    ).aggregate(users=Count("wallet", distinct=True))["users"]


def _open_disputes(moment: datetime) -> int:
    return Dispute.objects.filter(
        Q(closed_at__isnull=True) | Q(closed_at__gte=moment), created_at__lt=moment
    ).count()
