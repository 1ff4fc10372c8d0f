"""Reads for the jobs pages: a client's jobs and the staff work queue (filtered, sorted, in a
fixed number of queries whatever their length), and one job with what its detail tabs show."""

from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.db.models import Case, F, IntegerField, Min, Prefetch, Q, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce

from credits.models import CreditTransaction, Hold
from jobs.models import Activity, Delivery, Job, Milestone

# Most pressing first when sorting by priority.
PRIORITY_RANK = Case(
    When(priority=Job.Priority.URGENT, then=Value(0)),
    When(priority=Job.Priority.HIGH, then=Value(1)),
    When(priority=Job.Priority.NORMAL, then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)
SORTS = {
    "newest": ("-created_at", "-id"),
    "priority": ("priority_rank", "-created_at", "-id"),
    "budget": ("-budget", "-created_at", "-id"),
    "next_due": ("next_due", "-created_at", "-id"),
}
QUEUE_SORTS = {
    "priority": ("priority_rank", "submitted_at", "id"),
    "oldest": ("submitted_at", "id"),
}


@dataclass(frozen=True)
class JobFilter:
    status: str = ""
    priority: str = ""
    due_before: date | None = None
    due_after: date | None = None
    sort: str = "newest"


@dataclass(frozen=True)
class QueueFilter:
    who: str = "all"  # "unassigned", "mine" or "all"
    priority: str = ""
    sort: str = "priority"


def _with_next_due(jobs: QuerySet) -> QuerySet:
    """Each job's next due date: the earliest of its milestones still to be decided."""
    undecided = ~Q(milestones__status__in=Milestone.FINAL)
    return jobs.annotate(
        next_due=Min("milestones__due_date", filter=undecided), priority_rank=PRIORITY_RANK
    )


def jobs_of(*, client, filters: JobFilter = JobFilter()) -> QuerySet:
    """The client's jobs, filtered and sorted for the "My jobs" page."""
    jobs = _with_next_due(Job.objects.filter(client=client).select_related("assignee"))
    if filters.status:
        jobs = jobs.filter(status=filters.status)
    if filters.priority:
        jobs = jobs.filter(priority=filters.priority)
    if filters.due_before:
        jobs = jobs.filter(next_due__lt=filters.due_before)
    if filters.due_after:
        jobs = jobs.filter(next_due__gt=filters.due_after)
    return jobs.order_by(*SORTS.get(filters.sort, SORTS["newest"]))


def work_queue(*, staff, filters: QueueFilter = QueueFilter()) -> QuerySet:
    """Open and in-progress jobs for the staff who deliver them."""
    jobs = Job.objects.filter(status__in=Job.LIVE).select_related("client", "assignee")
    jobs = _with_next_due(jobs)
    if filters.who == "unassigned":
        jobs = jobs.filter(assignee__isnull=True)
    elif filters.who == "mine":
        jobs = jobs.filter(assignee=staff)
    if filters.priority:
        jobs = jobs.filter(priority=filters.priority)
    return jobs.order_by(*QUEUE_SORTS.get(filters.sort, QUEUE_SORTS["priority"]))


def job_for_page(job_id: int) -> Job | None:
    """The job with its people, for any of its pages (who may see it is access's rule)."""
    return Job.objects.select_related("client", "assignee").filter(pk=job_id).first()


def milestones_for_page(job: Job) -> list[Milestone]:
    """The job's milestones with their holds, deliveries (files and links) and the number of
    changes asked, in a fixed number of queries."""
    deliveries = Delivery.objects.select_related("delivered_by").prefetch_related("files", "links")
    milestones = (
        job.milestones.select_related("hold")
        .prefetch_related(Prefetch("deliveries", queryset=deliveries))
        .annotate(
            changes_asked=Coalesce(
                Sum(
                    Value(1),
                    filter=Q(activity__verb=Activity.Verb.CHANGES_REQUESTED),
                    output_field=IntegerField(),
                ),
                0,
            )
        )
        .order_by("position", "id")
    )
    return list(milestones)


@dataclass(frozen=True)
class JobMoney:
    budget: int
    reserved: int  # held now for milestones not decided
    captured: int  # paid
    released: int  # reserved and given back


def money_of(job: Job) -> JobMoney:
    """Where the job's budget stands, read from its milestones' holds and their ledger
    transactions (never from counters)."""
    holds = Milestone.objects.filter(job=job, hold__isnull=False).values("hold_id")
    reserved = Hold.objects.filter(pk__in=holds, status=Hold.Status.OPEN).aggregate(
        total=Sum(F("amount") - F("captured_amount"))
    )["total"]
    sums = dict(
        CreditTransaction.objects.filter(
            hold_id__in=holds,
            kind__in=[CreditTransaction.Kind.CAPTURE, CreditTransaction.Kind.RELEASE],
        )
        .order_by()
        .values_list("kind")
        .annotate(total=Sum("amount"))
    )
    return JobMoney(
        budget=job.budget,
        reserved=reserved or 0,
        captured=sums.get(CreditTransaction.Kind.CAPTURE, 0) or 0,
        released=sums.get(CreditTransaction.Kind.RELEASE, 0) or 0,
    )


def activity_of(job: Job) -> QuerySet:
    return job.activity.select_related("actor", "milestone").order_by("-created_at", "-id")


def deliverers() -> QuerySet:
    """Staff who may deliver jobs, to assign one of them."""
    may = Q(is_superuser=True) | Q(
        user_permissions__content_type__app_label="jobs", user_permissions__codename="deliver"
    )
    may |= Q(
        groups__permissions__content_type__app_label="jobs", groups__permissions__codename="deliver"
    )
    users = get_user_model().objects.filter(may, is_staff=True, is_active=True).distinct()
    return users.order_by("name", "email", "pk")
