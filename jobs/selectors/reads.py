"""Reads of jobs for the pages and the API: a client's jobs and the staff work queue (filtered,
sorted, in a fixed number of queries whatever their length), and one job with what its detail
tabs and answers show. Who may reach a job is jobs.gate's rule, not these functions'."""

from dataclasses import dataclass
from datetime import date

from django.db.models import (
    Case,
    Exists,
    IntegerField,
    Min,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from jobs.models import Activity, Delivery, Job, Link, Milestone
from jobs.selectors.statistics import Credits, credits_of

# A job's priority as a number the database orders: the higher, the more pressing.
PRIORITY_RANK = Case(
    *(When(priority=value, then=Value(rank)) for rank, value in enumerate(Job.Priority.values)),
    output_field=IntegerField(),
)
SORTS = {
    "newest": ("-created_at", "-id"),
    "priority": ("-priority_rank", "-created_at", "-id"),
    "budget": ("-budget", "-created_at", "-id"),
    "next_due": ("next_due", "-created_at", "-id"),
}
QUEUE_SORTS = {
    "priority": ("-priority_rank", "submitted_at", "id"),
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


def jobs_of(client, filters: JobFilter = JobFilter()) -> QuerySet:
    """The client's jobs (any status), filtered and sorted for the "My jobs" page; the API
    filters and orders the same queryset with django-filter."""
    jobs = _listed(Job.objects.filter(client=client).select_related("assignee"))
    if filters.status:
        jobs = jobs.filter(status=filters.status)
    if filters.priority:
        jobs = jobs.filter(priority=filters.priority)
    jobs = due_between(jobs, before=filters.due_before, after=filters.due_after)
    return jobs.order_by(*SORTS.get(filters.sort, SORTS["newest"]))


def work_queue(staff=None, filters: QueueFilter = QueueFilter()) -> QuerySet:
    """Live jobs (open or in progress), for the staff who deliver them."""
    jobs = _listed(Job.objects.filter(status__in=Job.LIVE).select_related("client", "assignee"))
    if filters.who == "unassigned":
        jobs = jobs.filter(assignee__isnull=True)
    elif filters.who == "mine":
        jobs = jobs.filter(assignee=staff)
    if filters.priority:
        jobs = jobs.filter(priority=filters.priority)
    return jobs.order_by(*QUEUE_SORTS.get(filters.sort, QUEUE_SORTS["priority"]))


def due_between(jobs: QuerySet, *, before=None, after=None) -> QuerySet:
    """Jobs with a milestone still to decide due on or before `before` / on or after `after`."""
    undecided = Milestone.objects.filter(job=OuterRef("pk")).exclude(status__in=Milestone.FINAL)
    if before is not None:
        jobs = jobs.filter(Exists(undecided.filter(due_date__lte=before)))
    if after is not None:
        jobs = jobs.filter(Exists(undecided.filter(due_date__gte=after)))
    return jobs


def job_by_id(job_id: int, jobs: QuerySet | None = None) -> Job | None:
    """One job with its people (from `jobs`, all by default), or None."""
    jobs = Job.objects.all() if jobs is None else jobs
    return jobs.select_related("client", "assignee").filter(pk=job_id).first()


def detailed(job_id: int, jobs: QuerySet | None = None) -> Job | None:
    """One job with its milestones (and their holds) and its own links, as the API answers."""
    found = Job.objects.all() if jobs is None else jobs
    found = found.prefetch_related(
        Prefetch("milestones", Milestone.objects.select_related("hold")),
        Prefetch("links", Link.objects.filter(delivery__isnull=True), to_attr="job_links"),
    )
    return job_by_id(job_id, found)


def milestone_of(job: Job, milestone_id: int) -> Milestone | None:
    return job.milestones.select_related("hold").filter(pk=milestone_id).first()


def milestone_as_now(milestone: Milestone) -> Milestone:
    """The milestone read again with its hold, as a step left them (what it has paid)."""
    return Milestone.objects.select_related("hold").get(pk=milestone.pk)


def deliveries_of(milestone: Milestone) -> QuerySet:
    """A milestone's deliveries, first first, with their files and links."""
    return (
        Delivery.objects.filter(milestone=milestone)
        .select_related("delivered_by")
        .prefetch_related("files", "links")
    )


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
class JobMoney(Credits):
    budget: int = 0


def money_of(job: Job) -> JobMoney:
    """Where the job's budget stands, from its milestones' holds and their ledger
    transactions (never from counters)."""
    credits = credits_of(Milestone.objects.filter(job=job))
    return JobMoney(**vars(credits), budget=job.budget)


def activity_of(job: Job) -> QuerySet:
    return job.activity.select_related("actor", "milestone").order_by("-created_at", "-id")


def _listed(jobs: QuerySet) -> QuerySet:
    """What a list shows and sorts by: each job's priority rank and next due date (the
    earliest of its milestones still to decide)."""
    undecided = ~Q(milestones__status__in=Milestone.FINAL)
    return jobs.annotate(
        next_due=Min("milestones__due_date", filter=undecided), priority_rank=PRIORITY_RANK
    )
