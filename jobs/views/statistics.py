"""The jobs statistics page: jobs by status, credits reserved, captured and released, overdue
milestones and the median review time, read from rows and the ledger (jobs.selectors)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from jobs import gate
from jobs.models import Job
from jobs.selectors.statistics import statistics


def statistics_page(request: HttpRequest) -> HttpResponse:
    """The user's jobs' figures; staff who deliver jobs, in a
    session that passed two-factor, may also see every job's."""
    may_see_all = gate.sees_every_job(request)
    everyone = request.GET.get("scope") == "all" and may_see_all
    stats = statistics(client=None if everyone else request.user)
    context = {
        "stats": stats,
        "everyone": everyone,
        "may_see_all": may_see_all,
        "status_rows": [
            {"label": label, "count": stats.jobs_by_status[value]}
            for value, label in Job.Status.choices
        ],
    }
    return render(request, "jobs/statistics.html", context)
