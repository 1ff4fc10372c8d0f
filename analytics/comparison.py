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
    "disputes open at its end. Money in the currency picked; credits and counts in all."
)


def overview(period: Period, currency: str) -> Overview:
    try:
        previous = period.previous
    except ValueError:  # a period starting in year 1 has none before it
        previous = None
    spans = [period] + ([previous] if previous else [])
    found = _figures(spans, currency)
    return Overview(
        period=period,
        previous=previous,
        currency=currency,
        figures=[
            (label, values[0], values[1] if previous else None) for label, values in found.items()
        ],
    )


def _figures(spans: list[Period], currency: str) -> dict[str, list[int | Decimal]]:
    """Each figure for each span, every figure's spans from one query (so the page stays at a
    handful of queries whatever it compares)."""
    code = currency.upper()
    ends = [min(span.until, timezone.now()) for span in spans]
    whole = Period(min(span.since for span in spans), max(span.until for span in spans))
    months = money.revenue(whole, currency).months
    revenue = [[m for m in months if span.since <= m.start < span.until] for span in spans]
    liability = money.liabilities_at([span.until for span in spans], currency)
    issued, moved = _issued(spans), _moved(spans)
    return {
        f"Gross revenue ({code})": [sum((m.gross for m in r), Decimal(0)) for r in revenue],
        f"Net revenue ({code})": [sum((m.net for m in r), Decimal(0)) for r in revenue],
        "Credits issued, paid": [found["paid"] for found in issued],
        "Credits issued, promotional": [found["promotional"] for found in issued],
        "Credits consumed": [found["consumed"] for found in moved],
        "Credits expired": [found["expired"] for found in moved],
        f"Deferred revenue at the end ({code})": [figure.money for figure in liability],
        "Credits held by open holds at the end": held_at(ends),
        "Active users": _active_users(spans),
        "Disputes open at the end": _open_disputes(ends),
    }


def _in(period: Period, prefix: str = "") -> Q:
    return Q(**{f"{prefix}created_at__gte": period.since, f"{prefix}created_at__lt": period.until})


def _per_span(rows, spans: list[Period], **sums) -> list[dict[str, int]]:
    """Conditional sums, one set per span, in one query: {name: (field, condition)}."""
    totals = rows.aggregate(
        **{
            f"{name}_{index}": Sum(field, filter=condition & _in(span))
            for index, span in enumerate(spans)
            for name, (field, condition) in sums.items()
        }
    )
    return [{name: totals[f"{name}_{index}"] or 0 for name in sums} for index in range(len(spans))]


def _issued(spans: list[Period]) -> list[dict[str, int]]:
    grants = CreditGrant.objects.filter(source__in=ISSUED_SOURCES, wallet__kind=Wallet.Kind.USER)
    return _per_span(
        grants,
        spans,
        paid=("amount", Q(is_promotional=False)),
        promotional=("amount", Q(is_promotional=True)),
    )


def _moved(spans: list[Period]) -> list[dict[str, int]]:
    found = _per_span(
        Entry.objects.filter(ON_USER_WALLETS),
        spans,
        consumed=("amount", Q(transaction__kind__in=CONSUMED_KINDS)),
        expired=("amount", Q(transaction__kind=Kind.EXPIRY)),
    )
    return [{name: -total for name, total in figures.items()} for figures in found]


def _active_users(spans: list[Period]) -> list[int]:
    consumed = CreditTransaction.objects.filter(
        kind__in=ACTIVE_KINDS, wallet__kind=Wallet.Kind.USER
    )
    totals = consumed.aggregate(
        **{
            f"users_{index}": Count("wallet", distinct=True, filter=_in(span))
            for index, span in enumerate(spans)
        }
    )
    return [totals[f"users_{index}"] for index in range(len(spans))]


def _open_disputes(moments: list[datetime]) -> list[int]:
    totals = Dispute.objects.aggregate(
        **{
            f"open_{index}": Count(
                "pk",
                filter=Q(created_at__lt=moment)
                & (Q(closed_at__isnull=True) | Q(closed_at__gte=moment)),
            )
            for index, moment in enumerate(moments)
        }
    )
    return [totals[f"open_{index}"] for index in range(len(moments))]
