"""What every jobs page shares: finding the job the way access allows (another user's job is a
404), and turning a service's refusal into what the page shows."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from jobs.errors import JobError
from jobs.models import Job, Milestone
from jobs.selectors.listing import job_for_page
from jobs.services import may_see

TABS = [
    ("overview", "Overview"),
    ("planning", "Planning"),
    ("financial", "Financial"),
    ("files", "Files"),
    ("links", "Links"),
    ("activity", "Activity"),
]


def visible_job(request: HttpRequest, job_id: int) -> Job:
    job = job_for_page(job_id)
    if job is None or not may_see(job, request.user):
        raise Http404("No such job.")
    return job


def visible_milestone(request: HttpRequest, milestone_id: int) -> Milestone:
    milestone = Milestone.objects.select_related("job").filter(pk=milestone_id).first()
    if milestone is None or not may_see(milestone.job, request.user):
        raise Http404("No such milestone.")
    return milestone


def tab_url(job: Job, tab: str = "overview") -> str:
    url = reverse("jobs:detail", args=[job.pk])
    return url if tab == "overview" else f"{url}?tab={tab}"


def refused(request: HttpRequest, error: JobError, job: Job, tab: str) -> HttpResponse:
    """A step the service refused (accepting twice, say): said as a message on the job's page,
    never a server error."""
    messages.error(request, error.message)
    return redirect(tab_url(job, tab))
