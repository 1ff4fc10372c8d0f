"""A job's detail tabs and the client's decisions on it: accept a delivery (all or part), ask
for changes, cancel a milestone or the job, add a link. A refused step (a second accept, say)
is said as a message on the job's page, as is one the ledger refuses (a frozen or suspended
wallet: CreditError); a form's own mistakes are shown beside the field."""

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.pagination import paginate
from credits.errors import CreditError
from jobs import gate, services
from jobs.errors import JobError
from jobs.forms import (
    AcceptInPartForm,
    AssignForm,
    CancelJobForm,
    LinkForm,
    RequestChangesForm,
    add_service_error,
)
from jobs.models import Milestone
from jobs.selectors import reads
from jobs.selectors.files import files_tab
from jobs.services import may_deliver
from jobs.views.common import TABS, refused, tab_url

TAB_NAMES = dict(TABS)
Status = Milestone.Status


def detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = gate.job_for(request, job_id)
    tab = request.GET.get("tab", "overview")
    return _render_detail(request, job, tab if tab in TAB_NAMES else "overview")


def _render_detail(request, job, tab: str, *, bound=None, link_form=None, cancel_form=None):
    """The job's page at `tab`; `bound` is (milestone id, form name, form) of a decision sent
    with mistakes, drawn again with its errors."""
    is_client = job.client_id == request.user.pk
    staff = may_deliver(request.user)
    context = {
        "job": job,
        "tabs": TABS,
        "tab": tab,
        "tab_name": TAB_NAMES[tab],
        "is_client": is_client,
        "is_staff": staff,
        "cancel_form": cancel_form or CancelJobForm(),
    }
    if tab in ("overview", "planning"):
        context["milestones"] = _with_forms(reads.milestones_for_page(job), bound, is_client)
    if tab == "planning" and staff and job.is_live:
        context["assign_form"] = AssignForm(
            deliverers=services.deliverers(), initial={"assignee": request.user.pk}
        )
    if tab == "financial":
        context["money"] = reads.money_of(job)
    if tab == "files":
        context.update(files_tab(job, request.user, request.GET.get("folder")))
    if tab == "links":
        context["links"] = job.links.select_related("added_by", "delivery")
        context["link_form"] = link_form or LinkForm()
    if tab == "activity":
        context["page"] = paginate(request, reads.activity_of(job), per_page=50)
        context["query"] = f"tab={tab}"
    status = 400 if bound or link_form or cancel_form else 200
    return render(request, "jobs/detail.html", context, status=status)


def _with_forms(milestones, bound, is_client: bool):
    """Each delivered milestone carries the client's decision forms (one drawn with errors)."""
    for milestone in milestones:
        milestone.part_form = AcceptInPartForm(milestone=milestone)
        milestone.changes_form = RequestChangesForm(milestone=milestone)
        if bound and bound[0] == milestone.pk:
            setattr(milestone, bound[1], bound[2])
        milestone.revisions_left = max(0, settings.JOBS_MAX_REVISIONS - milestone.changes_asked)
        milestone.client_decides = is_client and milestone.status == Status.SUBMITTED
    return milestones


@require_POST
def accept(request: HttpRequest, milestone_id: int) -> HttpResponse:
    milestone = gate.milestone_for(request, milestone_id)
    try:
        services.accept(milestone=milestone, by=request.user)
    except (JobError, CreditError) as error:
        return refused(request, error, milestone.job, "planning")
    messages.success(
        request, f"{milestone.title} is accepted: {milestone.amount:,} credits were paid."
    )
    return redirect(tab_url(milestone.job, "planning"))


@require_POST
def accept_in_part(request: HttpRequest, milestone_id: int) -> HttpResponse:
    milestone = gate.milestone_for(request, milestone_id)
    form = AcceptInPartForm(request.POST, milestone=milestone)
    if form.is_valid():
        try:
            services.accept_in_part(milestone=milestone, by=request.user, **form.cleaned_data)
        except (JobError, CreditError) as error:
            if error.field not in form.fields:
                return refused(request, error, milestone.job, "planning")
            add_service_error(form, error)
        else:
            paid = form.cleaned_data["amount"]
            messages.success(
                request,
                f"{milestone.title} is accepted in part: {paid:,} credits were paid and "
                f"{milestone.amount - paid:,} went back to your wallet.",
            )
            return redirect(tab_url(milestone.job, "planning"))
    job = gate.job_for(request, milestone.job_id)
    return _render_detail(request, job, "planning", bound=(milestone.pk, "part_form", form))


@require_POST
def request_changes(request: HttpRequest, milestone_id: int) -> HttpResponse:
    milestone = gate.milestone_for(request, milestone_id)
    form = RequestChangesForm(request.POST, milestone=milestone)
    if form.is_valid():
        try:
            services.request_changes(milestone=milestone, by=request.user, **form.cleaned_data)
        except JobError as error:
            if error.field not in form.fields:
                return refused(request, error, milestone.job, "planning")
            add_service_error(form, error)
        else:
            messages.success(request, f"Changes were asked on {milestone.title}.")
            return redirect(tab_url(milestone.job, "planning"))
    job = gate.job_for(request, milestone.job_id)
    return _render_detail(request, job, "planning", bound=(milestone.pk, "changes_form", form))


@require_POST
def cancel_milestone(request: HttpRequest, milestone_id: int) -> HttpResponse:
    milestone = gate.milestone_for(request, milestone_id)
    try:
        services.cancel_milestone(milestone=milestone, by=request.user)
    except (JobError, CreditError) as error:
        return refused(request, error, milestone.job, "planning")
    messages.success(request, f"{milestone.title} is cancelled: its credits went back.")
    return redirect(tab_url(milestone.job, "planning"))


@require_POST
def cancel_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = gate.job_for(request, job_id)
    form = CancelJobForm(request.POST)
    if form.is_valid():
        try:
            services.cancel_job(job=job, by=request.user, **form.cleaned_data)
        except (JobError, CreditError) as error:
            if error.field not in form.fields:
                return refused(request, error, job, "overview")
            add_service_error(form, error)
        else:
            messages.success(request, f"Job #{job.pk} is cancelled: what was not paid went back.")
            return redirect(tab_url(job))
    return _render_detail(request, job, "overview", cancel_form=form)


@require_POST
def add_link(request: HttpRequest, job_id: int) -> HttpResponse:
    job = gate.job_for(request, job_id)
    form = LinkForm(request.POST)
    if form.is_valid():
        try:
            services.add_link(job=job, by=request.user, **form.cleaned_data)
        except JobError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"The link {form.cleaned_data['label']!r} was added.")
            return redirect(tab_url(job, "links"))
    return _render_detail(request, job, "links", link_form=form)
