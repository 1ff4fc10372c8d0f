"""Reads of disputes: a user's own, a milestone they may dispute, the staff queue's metrics."""

from dataclasses import dataclass
from datetime import timedelta
from statistics import median

from django.conf import settings
from django.db.models import Count
from django.utils import timezone

from credits.models import CreditTransaction
from disputes.models import Dispute
from disputes.services import DISPUTABLE_KINDS
from jobs.models import Milestone

METRICS_DAYS = 30


def disputes_of(user):
    return Dispute.objects.filter(user=user).select_related(
        "transaction", "milestone__job", "milestone__hold", "refund"
    )


def has_something_to_dispute(user) -> bool:
    """Whether the user has a dispute, or a transaction of a kind that may be disputed inside
    the window: the dashboard offers disputes only then (one query)."""
    since = timezone.now() - timedelta(days=settings.DISPUTE_WINDOW_DAYS)
    disputable = CreditTransaction.objects.filter(
        wallet__user=user, kind__in=DISPUTABLE_KINDS, created_at__gte=since
    )
    return Dispute.objects.filter(user=user).exists() or disputable.exists()


def dispute_of(user, dispute_id: int) -> Dispute | None:
    """The user's own dispute; another user's answers None (the caller says 404)."""
    return disputes_of(user).filter(pk=dispute_id).first()


def milestone_for(user, milestone_id: int, *, job_id: int | None = None) -> Milestone | None:
    """A milestone of one of the user's own jobs (of `job_id`, if given), the only ones they
    may dispute; else None (the caller says 404, as for another user's job, so staff learn
    nothing of which jobs exist)."""
    milestones = Milestone.objects.select_related("job", "hold").filter(job__client=user)
    if job_id is not None:
        milestones = milestones.filter(job_id=job_id)
    milestone = milestones.filter(pk=milestone_id).first()
    return milestone


def thread(dispute: Dispute, *, include_internal: bool):
    messages = dispute.messages.select_related("author")
    return messages if include_internal else messages.filter(internal=False)


@dataclass(frozen=True)
class QueueMetrics:
    open: int
    median_first_response: timedelta | None
    median_resolution: timedelta | None
    by_reason: list[tuple[str, int]]
    by_outcome: list[tuple[str, int]]


def queue_metrics(*, days: int = METRICS_DAYS) -> QueueMetrics:
    """How the queue is doing: what is open, how fast staff answer and close, over `days` days."""
    since = timezone.now() - timedelta(days=days)
    recent = Dispute.objects.filter(created_at__gte=since)
    responses = [
        answered - created
        for created, answered in recent.filter(first_response_at__isnull=False).values_list(
            "created_at", "first_response_at"
        )
    ]
    resolutions = [
        closed - created
        for created, closed in recent.filter(closed_at__isnull=False).values_list(
            "created_at", "closed_at"
        )
    ]
    reasons = dict(Dispute.Reason.choices)
    statuses = dict(Dispute.Status.choices)
    by_reason = recent.values("reason").annotate(count=Count("id")).order_by("-count")
    by_outcome = (
        recent.filter(status__in=[Dispute.Status.RESOLVED, Dispute.Status.REJECTED])
        .values("status")
        .annotate(count=Count("id"))
        .order_by("status")
    )
    return QueueMetrics(
        open=Dispute.objects.filter(status__in=Dispute.ACTIVE).count(),
        median_first_response=median(responses) if responses else None,
        median_resolution=median(resolutions) if resolutions else None,
        by_reason=[(reasons[row["reason"]], row["count"]) for row in by_reason],
        by_outcome=[(statuses[row["status"]], row["count"]) for row in by_outcome],
    )
