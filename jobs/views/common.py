"""What every jobs page shares: the tabs, and turning a service's refusal into what the page
shows. Which job a request reaches is jobs.gate's rule."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from jobs.errors import JobError
from jobs.models import Job

TABS = [
    ("overview", "Overview"),
    ("planning", "Planning"),
    ("financial", "Financial"),
    ("files", "Files"),
    ("links", "Links"),
    ("activity", "Activity"),
]


def tab_url(job: Job, tab: str = "overview") -> str:
    url = reverse("jobs:detail", args=[job.pk])
    return url if tab == "overview" else f"{url}?tab={tab}"


def refused(request: HttpRequest, error: JobError, job: Job, tab: str) -> HttpResponse:
    """A step the service refused (accepting twice, say): said as a message on the job's page,
    never a server error."""
    messages.error(request, error.message)
    return redirect(tab_url(job, tab))
