"""Who reaches a job from a request: the one rule every jobs page and the files API apply.

The job's client always does. Anyone else must be staff who may deliver jobs *and* be using
staff powers in this request: a signed-in session that passed two-factor
(`core.two_factor.staff_may_act`), as the admin and the staff API require. A token never
carries staff powers. Without them a job is a 404 to the API, as for one that does not exist;
a page sends the staff member to pass two-factor first, then back.
"""

from django.http import Http404, HttpRequest
from django.urls import reverse

from core.two_factor import StaffTwoFactorRequired, staff_may_act
from jobs.models import Job, Milestone
from jobs.selectors import reads
from jobs.services import may_deliver


def job_for(request, job_id: int, *, page: bool = True, jobs=None) -> Job:
    """The job `job_id` (from `jobs`, all by default) if the request reaches it; else 404, or
    on a page, for staff who have not passed two-factor, the way to pass it."""
    job = reads.job_by_id(job_id, jobs)
    if job is None:
        raise Http404("No such job.")
    require_reach(request, job, page=page)
    return job


def milestone_for(request: HttpRequest, milestone_id: int) -> Milestone:
    """A milestone whose job the request reaches (pages)."""
    milestone = Milestone.objects.select_related("job").filter(pk=milestone_id).first()
    if milestone is None:
        raise Http404("No such milestone.")
    require_reach(request, milestone.job, page=True)
    return milestone


def require_reach(request, job: Job, *, page: bool) -> None:
    user = request.user
    if job.client_id == user.pk:
        return
    if not may_deliver(user):
        raise Http404("No such job.")
    if not staff_may_act(getattr(request, "_request", request)):  # DRF wraps Django's request
        if not page:
            raise Http404("No such job.")
        going = request.get_full_path() if request.method == "GET" else None
        raise StaffTwoFactorRequired(going or reverse("jobs:detail", args=[job.pk]))


def sees_every_job(request) -> bool:
    """Whether the request may read across all jobs (the statistics' "every job" scope)."""
    return may_deliver(request.user) and staff_may_act(request)
