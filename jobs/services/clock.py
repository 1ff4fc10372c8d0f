"""The jobs' clock (`manage.py jobs_autoaccept`, from cron): every waiting state's default
outcome, so silence never freezes credits.

- a delivered milestone whose review window ended is accepted (its amount paid);
- before that, the client is reminded 72 and 24 hours ahead (each reminder once per delivery);
- a milestone not delivered JOBS_DELIVERY_GRACE_DAYS after its due date (or after the client's
  last change request, if later) is cancelled and its credits go back to the client;
- a disputed milestone waits for staff (the dispute queue), never for this clock; when staff
  wait on the client's answer, the disputes app's own deadline settles it
  (`manage.py disputes_deadlines`).

Safe to run twice and beside live traffic: each milestone is re-read under its job's lock and
only acted on if it still waits; reminders are claimed by a conditional UPDATE.
"""

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from credits.errors import CreditRefusal
from jobs.models import Delivery, Milestone
from jobs.services.log import Verb, record
from jobs.services.notify import tell_client, tell_team
from jobs.services.work import lock_milestone, settle

Status = Milestone.Status
REMINDERS = ((72, "reminded_72h_at"), (24, "reminded_24h_at"))


@dataclass
class ClockReport:
    accepted: list[int] = field(default_factory=list)
    lapsed: list[int] = field(default_factory=list)
    reminded: int = 0
    # Milestones the ledger refused to settle (a frozen or suspended wallet): tried next run.
    skipped: dict[int, str] = field(default_factory=dict)


def run_clock(*, now: datetime | None = None) -> ClockReport:
    now = now or timezone.now()
    report = ClockReport()
    _remind(now, report)
    for milestone_id in _ids(
        Milestone.objects.filter(status=Status.SUBMITTED, review_ends_at__lte=now)
    ):
        _act(milestone_id, report, now, expected=Status.SUBMITTED)
    for milestone_id in _ids(_past_delivery_deadline(now)):
        _act(milestone_id, report, now, expected=None)
    return report


def delivery_deadline(milestone: Milestone) -> datetime:
    """When an undelivered milestone is cancelled if still undelivered."""
    start = datetime.combine(milestone.due_date, time.max, tzinfo=timezone.get_current_timezone())
    if milestone.changes_requested_at and milestone.changes_requested_at > start:
        start = milestone.changes_requested_at
    return start + timedelta(days=settings.JOBS_DELIVERY_GRACE_DAYS)


def _past_delivery_deadline(now: datetime):
    grace = timedelta(days=settings.JOBS_DELIVERY_GRACE_DAYS)
    # A coarse filter on the indexed due date; `delivery_deadline` decides under the lock.
    return Milestone.objects.filter(
        status__in=Milestone.TO_DELIVER, due_date__lt=(now - grace).date()
    ).filter(Q(changes_requested_at__isnull=True) | Q(changes_requested_at__lte=now - grace))


def _ids(queryset) -> list[int]:
    return list(queryset.order_by("pk").values_list("pk", flat=True))


def _act(milestone_id: int, report: ClockReport, now: datetime, *, expected) -> None:
    try:
        with transaction.atomic():
            job, milestone = lock_milestone(milestone_id)
            if expected == Status.SUBMITTED:
                if milestone.status != Status.SUBMITTED or milestone.review_ends_at > now:
                    return  # decided, questioned or disputed since we looked
                settle(job, milestone, pay=milestone.amount, verb=Verb.AUTO_ACCEPTED)
                tell_client(
                    job,
                    f"{milestone.title} was accepted automatically",
                    f"Its review window ended: its {milestone.amount:,} credits were paid.",
                    event="milestone.accepted",
                    milestone=milestone,
                )
                tell_team(
                    job,
                    f"{milestone.title} was accepted",
                    "Its review window ended.",
                    event="milestone.accepted",
                    milestone=milestone,
                )
                report.accepted.append(milestone_id)
            else:
                if (
                    milestone.status not in Milestone.TO_DELIVER
                    or delivery_deadline(milestone) > now
                ):
                    return
                settle(job, milestone, pay=0, verb=Verb.LAPSED)
                tell_client(
                    job,
                    f"{milestone.title} was cancelled",
                    f"It was not delivered by its deadline: its {milestone.amount:,} credits are "
                    "back in your wallet.",
                    event="job.updated",
                    milestone=milestone,
                )
                report.lapsed.append(milestone_id)
    except CreditRefusal as refusal:
        report.skipped[milestone_id] = refusal.message


def _remind(now: datetime, report: ClockReport) -> None:
    # Each reminder is due until the next one is: a first run with 20 hours left sends "24 hours
    # left" alone, not a "72 hours left" that is no longer true beside it.
    next_hours = [hours for hours, _ in REMINDERS[1:]] + [0]
    for (hours, column), until in zip(REMINDERS, next_hours, strict=True):
        due = Delivery.objects.filter(
            milestone__status=Status.SUBMITTED,
            milestone__review_ends_at__gt=now + timedelta(hours=until),
            milestone__review_ends_at__lte=now + timedelta(hours=hours),
            **{f"{column}__isnull": True},
        ).select_related("milestone__job__client")
        for delivery in due:
            milestone = delivery.milestone
            if delivery.number != milestone.deliveries.count():
                continue  # an earlier delivery: its window is not the one running
            with transaction.atomic():
                claimed = Delivery.objects.filter(
                    pk=delivery.pk, **{f"{column}__isnull": True}
                ).update(**{column: now})
                if not claimed:
                    continue  # another run reminded first
                record(milestone.job, Verb.REMINDED, milestone=milestone, hours=hours, now=now)
                tell_client(
                    milestone.job,
                    f"{hours} hours left to review {milestone.title}",
                    f"Unless you accept it in part, ask for changes or dispute it by "
                    f"{milestone.review_ends_at:%Y-%m-%d %H:%M} UTC, it is accepted and its "
                    f"{milestone.amount:,} credits are paid.",
                    event="job.updated",
                    milestone=milestone,
                )
            report.reminded += 1
