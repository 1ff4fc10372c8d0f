"""The client's jobs list and drafts: written section by section (each saved on its own, saved
incomplete), then submitted, which reserves the budget."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.pagination import paginate
from credits.errors import CreditError
from jobs import gate, services
from jobs.errors import JobError
from jobs.forms import (
    SECTION_FORMS,
    JobFilterForm,
    LinkForm,
    add_service_error,
    milestone_formset,
)
from jobs.models import Job
from jobs.selectors.reads import jobs_of
from jobs.views.common import refused, tab_url

STEPS = [
    ("basic", "Basic info"),
    ("business", "Business info"),
    ("project", "Project details"),
    ("branding", "Branding & design"),
    ("planning", "Planning"),
    ("financial", "Financial"),
    ("links", "Resources & links"),
    ("review", "Review and submit"),
]
STEP_NAMES = dict(STEPS)
PER_PAGE = 25
FILTERS = ("status", "priority", "due_before", "due_after")


def job_list(request: HttpRequest) -> HttpResponse:
    form = JobFilterForm(request.GET or None)
    filters = form.filters()
    jobs = jobs_of(client=request.user, filters=filters) if filters else Job.objects.none()
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "filter_refused": filters is None,
        "filtered": any(request.GET.get(name) for name in FILTERS),
        "page": paginate(request, jobs, per_page=PER_PAGE),
        "query": query.urlencode(),
    }
    return render(request, "jobs/list.html", context)


def create(request: HttpRequest) -> HttpResponse:
    form = SECTION_FORMS["basic"](request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.create_draft(client=request.user, **form.cleaned_data)
        except JobError as error:
            add_service_error(form, error)
        else:
            messages.success(request, "Your draft is saved. Fill in the other sections.")
            return redirect("jobs:edit", job.pk, "business")
    context = {"form": form, "steps": STEPS, "step": "basic", "job": None}
    return render(request, "jobs/edit.html", context)


def edit(request: HttpRequest, job_id: int, section: str) -> HttpResponse:
    job = gate.job_for(request, job_id)
    if section not in STEP_NAMES:
        return redirect("jobs:edit", job.pk, "basic")
    if not job.is_draft or job.client_id != request.user.pk:
        messages.info(request, "Only a draft can be edited, by its client.")
        return redirect(tab_url(job))
    if section == "planning":
        return _edit_planning(request, job)
    if section == "links":
        return _edit_links(request, job)
    if section == "review":
        return _render_step(request, job, "review", {"milestones": _milestones(job)})
    form_class = SECTION_FORMS[section]
    initial = {name: getattr(job, name) for name in form_class.base_fields}
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_draft(job=job, by=request.user, **form.cleaned_data)
        except JobError as error:
            add_service_error(form, error)
        else:
            return _saved(request, job, section)
    return _render_step(request, job, section, {"form": form})


def _edit_planning(request: HttpRequest, job: Job) -> HttpResponse:
    data = request.POST.copy() if request.method == "POST" else None
    if data is not None and "add_row" in data:
        # One more empty row, nothing saved: a row is added without a script. A count that is
        # not a small number (tampered with) is left for the formset to refuse as its own error.
        total = data.get("milestones-TOTAL_FORMS", "")
        if total.isascii() and total.isdecimal() and len(total) <= 3:
            data["milestones-TOTAL_FORMS"] = str(min(int(total) + 1, services.MAX_MILESTONES))
        formset = milestone_formset(job, data)
        return _render_step(request, job, "planning", {"formset": formset})
    formset = milestone_formset(job, data)
    if data is not None and formset.is_valid():
        # An empty extra row is left out; a row marked for removal is gone.
        rows = [f for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        plans = [
            services.MilestonePlan(
                title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                due_date=form.cleaned_data["due_date"],
                amount=form.cleaned_data["amount"],
            )
            for form in rows
        ]
        try:
            services.plan_milestones(job=job, by=request.user, milestones=plans)
        except JobError as error:
            _milestone_error(formset, rows, error)
        else:
            return _saved(request, job, "planning")
    return _render_step(request, job, "planning", {"formset": formset})


def _milestone_error(formset, rows, error: JobError) -> None:
    """ "milestones.<i>.<name>" is row i of those sent; "milestones" the plan as a whole."""
    parts = (error.field or "").split(".")
    if len(parts) == 3 and parts[1].isdecimal() and int(parts[1]) < len(rows):
        form = rows[int(parts[1])]
        form.add_error(parts[2] if parts[2] in form.fields else None, error.message)
    else:
        formset._non_form_errors = formset.error_class([error.message], error_class="nonform")


def _edit_links(request: HttpRequest, job: Job) -> HttpResponse:
    form = LinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.add_link(job=job, by=request.user, **form.cleaned_data)
        except JobError as error:
            add_service_error(form, error)
        else:
            messages.success(request, f"The link {form.cleaned_data['label']!r} was added.")
            return redirect("jobs:edit", job.pk, "links")
    return _render_step(request, job, "links", {"form": form, "links": job.links.all()})


def _saved(request: HttpRequest, job: Job, section: str) -> HttpResponse:
    messages.success(request, f"{STEP_NAMES[section]} saved.")
    names = [name for name, _ in STEPS]
    return redirect("jobs:edit", job.pk, names[names.index(section) + 1])


def _milestones(job: Job):
    return job.milestones.order_by("position", "id")


def _render_step(request, job: Job, step: str, context: dict, status: int = 200):
    context = {"job": job, "steps": STEPS, "step": step, "step_name": STEP_NAMES[step], **context}
    return render(request, "jobs/edit.html", context, status=status)


@require_POST
def submit(request: HttpRequest, job_id: int) -> HttpResponse:
    """Reserve the budget. A second send (a double click, Back and send again) finds the job no
    longer a draft and is told so; the holds' keys name their milestones, so nothing is
    reserved twice."""
    job = gate.job_for(request, job_id)
    try:
        services.submit(job=job, by=request.user)
    except JobError as error:
        if not job.is_draft:
            return refused(request, error, job, "overview")
        step = _step_of(error.field)
        context = {"milestones": _milestones(job), "error": error.message, "fix": step}
        return _render_step(request, job, "review", context, status=400)
    except CreditError as error:
        context = {"milestones": _milestones(job), "error": error.message, "short": True}
        return _render_step(request, job, "review", context, status=400)
    messages.success(
        request, f"Job #{job.pk} is submitted: its budget of {job.budget:,} credits is reserved."
    )
    return redirect(tab_url(job))


def _step_of(field: str | None) -> tuple[str, str] | None:
    """The section where a refused field is fixed."""
    if not field:
        return None
    name = "planning" if field.startswith("milestones") else None
    for section, fields in services.SECTIONS.items():
        if field in fields:
            name = section
    return (name, STEP_NAMES[name]) if name else None


@require_POST
def delete(request: HttpRequest, job_id: int) -> HttpResponse:
    job = gate.job_for(request, job_id)
    try:
        services.delete_draft(job=job, by=request.user)
    except JobError as error:
        return refused(request, error, job, "overview")
    messages.success(request, f"The draft {job.title!r} was deleted.")
    return redirect("jobs:list")
