"""Jobs' statistics, for a client or for staff across all jobs: counted from job rows and
summed from the ledger's own transactions on the jobs' holds, never from counters kept on the
side (which drift: docs/jobs.md)."""

from dataclasses import dataclass
from statistics import median

from django.db.models import Count, F, Max, OuterRef, Subquery, Sum
from django.utils import timezone

from credits.models import CreditTransaction, Hold
from jobs.models import Delivery, Job, Milestone

Kind = CreditTransaction.Kind


@dataclass(frozen=True)
class Credits:
    """Where jobs' reserved credits stand, summed from the ledger."""

    reserved: int  # held now for milestones not decided yet
    captured: int  # paid for milestones
    released: int  # reserved for milestones and given back


def credits_of(milestones) -> Credits:
    return Credits(
        reserved=_reserved(milestones),
        captured=_ledger_sum(milestones, Kind.CAPTURE),
        released=_ledger_sum(milestones, Kind.RELEASE),
    )


@dataclass(frozen=True)
class JobStatistics:
    jobs_by_status: dict[str, int]  # every Job.Status value, 0 when there are none
    reserved: int  # credits held now for milestones not decided yet
    captured: int  # credits paid for milestones
    released: int  # credits reserved for milestones and given back
    overdue_milestones: int  # funded, or waiting for changes, past their due date
    median_review_hours: float | None  # from the last delivery to the decision to pay

    @property
    def jobs(self) -> int:
        return sum(self.jobs_by_status.values())


def statistics(*, client=None) -> JobStatistics:
    jobs = Job.objects.all() if client is None else Job.objects.filter(client=client)
    milestones = Milestone.objects.filter(job__in=jobs)
    counts = dict(jobs.order_by().values_list("status").annotate(n=Count("id")))
    return JobStatistics(
        jobs_by_status={status: counts.get(status, 0) for status in Job.Status.values},
        **vars(credits_of(milestones)),
        overdue_milestones=milestones.filter(
            status__in=Milestone.TO_DELIVER, due_date__lt=timezone.now().date()
        ).count(),
        median_review_hours=_median_review_hours(milestones),
    )


def _reserved(milestones) -> int:
    open_holds = Hold.objects.filter(
        status=Hold.Status.OPEN, pk__in=milestones.values("hold_id")
    ).aggregate(total=Sum(F("amount") - F("captured_amount")))
    return open_holds["total"] or 0


def _ledger_sum(milestones, kind: str) -> int:
    total = CreditTransaction.objects.filter(
        kind=kind, hold_id__in=milestones.values("hold_id")
    ).aggregate(total=Sum("amount"))
    return total["total"] or 0


def _median_review_hours(milestones) -> float | None:
    last_delivery = (
        Delivery.objects.filter(milestone=OuterRef("pk"))
        .values("milestone")
        .annotate(at=Max("delivered_at"))
        .values("at")
    )
    paid = milestones.filter(
        status__in=[Milestone.Status.ACCEPTED, Milestone.Status.ACCEPTED_IN_PART],
        decided_at__isnull=False,
    ).annotate(delivered_at=Subquery(last_delivery))
    waits = [
        (decided - delivered).total_seconds() / 3600
        for decided, delivered in paid.values_list("decided_at", "delivered_at")
        if delivered is not None
    ]
    return round(median(waits), 1) if waits else None
