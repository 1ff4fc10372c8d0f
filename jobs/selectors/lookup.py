"""The jobs a caller reaches through the API: a client's own (another user's job is not found,
as if it did not exist), and, for staff who deliver, any job and the work queue."""

from django.db.models import Case, Exists, IntegerField, OuterRef, Prefetch, Value, When

from jobs.models import Delivery, Job, Link, Milestone

# Most pressing first when sorted descending: a job's priority as a number the database orders.
PRIORITY_RANK = Case(
    *(When(priority=value, then=Value(rank)) for rank, value in enumerate(Job.Priority.values)),
    output_field=IntegerField(),
)


def with_rank(jobs):
    return jobs.annotate(priority_rank=PRIORITY_RANK)


def jobs_of(client):
    """The client's jobs (any status), with what a list shows."""
    return with_rank(Job.objects.filter(client=client).select_related("assignee"))


def job_of(client, job_id: int) -> Job | None:
    """One of the client's jobs with its milestones and links, or None (also for someone
    else's job)."""
    return _detailed(Job.objects.filter(client=client)).filter(pk=job_id).first()


def any_job(job_id: int) -> Job | None:
    """Any job, for staff who deliver (the API's staff gate has checked the caller)."""
    return _detailed(Job.objects.select_related("client")).filter(pk=job_id).first()


def milestone_of(job: Job, milestone_id: int) -> Milestone | None:
    return job.milestones.select_related("hold").filter(pk=milestone_id).first()


def milestone_as_now(milestone: Milestone) -> Milestone:
    """The milestone read again with its hold, as a step left them (what it has paid)."""
    return Milestone.objects.select_related("hold").get(pk=milestone.pk)


def deliveries_of(milestone: Milestone):
    """A milestone's deliveries, first first, with their files and links."""
    return (
        Delivery.objects.filter(milestone=milestone)
        .select_related("delivered_by")
        .prefetch_related("files", "links")
    )


def work_queue():
    """Live jobs (open or in progress), for staff who deliver."""
    return with_rank(Job.objects.filter(status__in=Job.LIVE).select_related("client", "assignee"))


def due_between(jobs, *, before=None, after=None):
    """Jobs with a milestone still to decide due on or before `before` / on or after `after`."""
    undecided = Milestone.objects.filter(job=OuterRef("pk")).exclude(status__in=Milestone.FINAL)
    if before is not None:
        jobs = jobs.filter(Exists(undecided.filter(due_date__lte=before)))
    if after is not None:
        jobs = jobs.filter(Exists(undecided.filter(due_date__gte=after)))
    return jobs


def _detailed(jobs):
    return jobs.select_related("assignee").prefetch_related(
        Prefetch("milestones", Milestone.objects.select_related("hold")),
        Prefetch("links", Link.objects.filter(delivery__isnull=True), to_attr="job_links"),
    )
