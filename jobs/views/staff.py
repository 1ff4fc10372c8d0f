"""Staff's jobs pages: the work queue, assigning a job, delivering a milestone. Only staff who
may deliver jobs (jobs.deliver) reach them, with two-factor as on every staff page; anyone
else is refused (403)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.pagination import paginate
from core.two_factor import staff_page
from jobs import gate, services
from jobs.errors import JobError
from jobs.forms import AssignForm, DeliverForm, QueueFilterForm
from jobs.models import Job, Milestone
from jobs.selectors import reads
from jobs.services import may_deliver
from jobs.views.common import refused, tab_url

# The service names a delivery link's parts as add_link does; the form has both beside it.
LINK_FIELDS = {"url": "link_url", "label": "link_label"}


def _require_deliverer(request: HttpRequest) -> None:
    if not may_deliver(request.user):
        raise PermissionDenied("Only staff who deliver jobs can see this page.")


@staff_page
def queue(request: HttpRequest) -> HttpResponse:
    _require_deliverer(request)
    form = QueueFilterForm(request.GET or None)
    filters = form.filters()
    jobs = reads.work_queue(staff=request.user, filters=filters) if filters else Job.objects.none()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "filter_refused": filters is None,
        "page": paginate(request, jobs, per_page=25),
        "query": query.urlencode(),
    }
    return render(request, "jobs/queue.html", context)


@staff_page
@require_POST
def assign(request: HttpRequest, job_id: int) -> HttpResponse:
    _require_deliverer(request)
    job = gate.job_for(request, job_id)
    form = AssignForm(request.POST, deliverers=services.deliverers())
    if not form.is_valid():
        messages.error(request, "Choose a member of staff who delivers jobs.")
        return redirect(tab_url(job, "planning"))
    assignee = form.cleaned_data["assignee"]
    try:
        services.assign(job=job, assignee=assignee, by=request.user)
    except JobError as error:
        return refused(request, error, job, "planning")
    messages.success(request, f"Job #{job.pk} is assigned to {assignee.get_full_name()}.")
    if request.POST.get("back") == "queue":
        return redirect("jobs:queue")
    return redirect(tab_url(job, "planning"))


@staff_page
def deliver(request: HttpRequest, milestone_id: int) -> HttpResponse:
    _require_deliverer(request)
    milestone = gate.milestone_for(request, milestone_id)
    job = milestone.job
    if milestone.status not in Milestone.TO_DELIVER:
        messages.info(
            request,
            f"{milestone.title} is {milestone.get_status_display().lower()}: nothing to deliver.",
        )
        return redirect(tab_url(job, "planning"))
    form = DeliverForm(request.POST or None, job=job)
    if request.method == "POST" and form.is_valid():
        try:
            services.deliver(
                milestone=milestone,
                by=request.user,
                message=form.cleaned_data["message"],
                files=list(form.cleaned_data["files"]),
                links=form.links(),
            )
        except JobError as error:
            field = LINK_FIELDS.get(error.field, error.field)
            if field is not None and field not in form.fields:
                return refused(request, error, job, "planning")
            form.add_error(field, error.message)
        else:
            messages.success(
                request, f"{milestone.title} is delivered: the client's review starts."
            )
            return redirect(tab_url(job, "planning"))
    context = {"job": job, "milestone": milestone, "form": form}
    return render(request, "jobs/deliver.html", context, status=400 if form.errors else 200)
