"""Disputes in a period: CreditDesk's own (users challenging a charge, staff resolving them)
and Stripe's (buyers' banks charging a payment back), with the staff queue's own figures.

Counted with set-based SQL; the two medians are taken over the period's disputes only (their
timestamps read in one query). The queue's figures are disputes.selectors.queue_metrics, the
same function the admin's dispute list shows them by.
"""

from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from django.db.models import BooleanField, Count, ExpressionWrapper, Q

from analytics.money import pack_sales
from analytics.periods import Period
from analytics.report import Report, Table
from billing.models import MoneyBack
from disputes.models import Dispute
from disputes.selectors import METRICS_DAYS, QueueMetrics, queue_metrics
from disputes.templatetags.disputes import waited

Status = Dispute.Status
CLOSED = (Status.RESOLVED, Status.REJECTED)
NO_DISPUTES = Q(open_dispute_ids=[]) & Q(decided_dispute_ids=[])


@dataclass
class Disputes:
    period: Period
    opened: int
    escalated: int  # of those opened: at level 2 now
    closed: int  # resolved or rejected in the period
    refunded: int  # of those closed: resolved, with credits given back
    median_first_response: timedelta | None
    median_resolution: timedelta | None
    payments: int
    payments_disputed: int
    payments_still_disputed: int
    chargebacks_lost: int
    queue: QueueMetrics

    @property
    def rejected(self) -> int:
        return self.closed - self.refunded

    @property
    def refund_share(self) -> str:
        return _share(self.refunded, self.closed)

    @property
    def escalation_share(self) -> str:
        return _share(self.escalated, self.opened)

    @property
    def chargeback_rate(self) -> str:
        return _share(self.payments_disputed, self.payments)

    def figures(self) -> dict[str, int | str | None]:
        """The period's figures by name, as the report prints them (hours to one place)."""
        return {
            "opened": self.opened,
            "closed": self.closed,
            "refunded": self.refunded,
            "rejected": self.rejected,
            "escalated": self.escalated,
            "refund_share": self.refund_share,
            "escalation_share": self.escalation_share,
            "median_first_response_hours": _hours(self.median_first_response),
            "median_resolution_hours": _hours(self.median_resolution),
            "payments": self.payments,
            "payments_disputed": self.payments_disputed,
            "payments_still_disputed": self.payments_still_disputed,
            "chargebacks_lost": self.chargebacks_lost,
            "chargeback_rate": self.chargeback_rate,
        }

    def report(self) -> Report:
        label = self.period.label()
        ours = Table(
            caption=f"CreditDesk disputes, {label}",
            columns=["Figure", "Value"],
            rows=[
                ["Opened", self.opened],
                ["Closed (resolved or rejected)", self.closed],
                ["Resolved with a refund", self.refunded],
                ["Rejected", self.rejected],
                ["Escalated (of those opened)", self.escalated],
                ["Refund share (of those closed)", self.refund_share],
                ["Escalation share (of those opened)", self.escalation_share],
                ["Median hours to first staff response", _hours(self.median_first_response)],
                ["Median hours to resolution", _hours(self.median_resolution)],
            ],
            charted=(
                "Opened",
                "Closed (resolved or rejected)",
                "Resolved with a refund",
                "Rejected",
                "Escalated (of those opened)",
            ),
        )
        stripe = Table(
            caption=f"Stripe disputes of pack payments, {label}",
            columns=["Figure", "Value"],
            rows=[
                ["Payments (packs paid in the period)", self.payments],
                ["Of them disputed with Stripe", self.payments_disputed],
                ["Of them still disputed", self.payments_still_disputed],
                ["Chargeback rate (disputed / payments)", self.chargeback_rate],
                ["Chargebacks lost in the period", self.chargebacks_lost],
            ],
            charted=(
                "Payments (packs paid in the period)",
                "Of them disputed with Stripe",
                "Chargebacks lost in the period",
            ),
        )
        queue = self.queue
        counted = [(f"Reason: {name}", count) for name, count in queue.by_reason] + [
            (f"Outcome: {name}", count) for name, count in queue.by_outcome
        ]
        queue_table = Table(
            caption=f"The dispute queue now (the last {METRICS_DAYS} days, as the queue shows)",
            columns=["Figure", "Value"],
            rows=[
                ["Open now", queue.open],
                ["Median first response", waited(queue.median_first_response)],
                ["Median time to close", waited(queue.median_resolution)],
                *([name, count] for name, count in counted),
            ],
            charted=("Open now", *(name for name, _ in counted)),
        )
        return Report(title="Disputes", basis=DISPUTES_BASIS, tables=[ours, stripe, queue_table])


DISPUTES_BASIS = (
    "CreditDesk's disputes (users challenging a charge), by month in UTC: opened by when they "
    "were opened; closed when staff resolved or rejected them in the period (an escalated one "
    "closes again when its second review ends); resolved with a refund are those resolved (every "
    "resolution gives credits back), refund share = resolved with a refund / closed; escalated "
    "are those opened in the period that are at level 2 now (an escalation is not dated), "
    "escalation share = escalated / opened. Median hours to first staff response over the "
    "disputes opened in the period that have one; to resolution over those closed in the "
    "period, from opening to closing. Stripe: the packs paid in the period, those of them with a "
    "dispute (open or decided: a Stripe dispute is not dated here, so it counts with its "
    "payment's month), chargeback rate = disputed / payments; chargebacks lost are counted when "
    "Stripe told us (billing's money back), packs' and subscription invoices' alike; the "
    "payments and the chargeback rate are packs' only (an invoice's dispute is not kept open "
    "on it). The queue's "
    f"figures are the dispute list's own: over the last {METRICS_DAYS} days from now, whatever "
    "the period."
)


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.1%}" if whole else "—"


def _hours(span: timedelta | None) -> str:
    return "—" if span is None else f"{span.total_seconds() / 3600:.1f}"


def disputes(period: Period) -> Disputes:
    opened = Q(created_at__gte=period.since, created_at__lt=period.until)
    closed = Q(status__in=CLOSED, closed_at__gte=period.since, closed_at__lt=period.until)
    counts = Dispute.objects.aggregate(
        opened=Count("pk", filter=opened),
        escalated=Count("pk", filter=opened & Q(level=2)),
        closed=Count("pk", filter=closed),
        refunded=Count("pk", filter=closed & Q(status=Status.RESOLVED)),
    )
    responses, resolutions = [], []
    # The period's disputes only: opened in it, or closed in it.
    for created, answered, ended, was_opened, was_closed in (
        Dispute.objects.filter(opened | closed)
        .annotate(
            was_opened=ExpressionWrapper(opened, output_field=BooleanField()),
            was_closed=ExpressionWrapper(closed, output_field=BooleanField()),
        )
        .values_list("created_at", "first_response_at", "closed_at", "was_opened", "was_closed")
    ):
        if was_opened and answered is not None:
            responses.append(answered - created)
        if was_closed:
            resolutions.append(ended - created)
    paid = Q(paid_at__gte=period.since, paid_at__lt=period.until)
    payments = (
        pack_sales()
        .filter(paid)
        .aggregate(
            payments=Count("pk"),
            disputed=Count("pk", filter=~NO_DISPUTES),
            still=Count("pk", filter=~Q(open_dispute_ids=[])),
        )
    )
    lost = MoneyBack.objects.filter(
        kind=MoneyBack.Kind.CHARGEBACK,
        created_at__gte=period.since,
        created_at__lt=period.until,
    ).count()
    return Disputes(
        period=period,
        opened=counts["opened"],
        escalated=counts["escalated"],
        closed=counts["closed"],
        refunded=counts["refunded"],
        median_first_response=median(responses) if responses else None,
        median_resolution=median(resolutions) if resolutions else None,
        payments=payments["payments"],
        payments_disputed=payments["disputed"],
        payments_still_disputed=payments["still"],
        chargebacks_lost=lost,
        queue=queue_metrics(),
    )
