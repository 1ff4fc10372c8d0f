"""The user's disputes: open one from a transaction or a delivered milestone, follow its thread,
escalate a rejection."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from core.pagination import paginate
from credits import selectors as credit_selectors
from disputes import selectors, services
from disputes.errors import DisputeError
from disputes.forms import EscalateForm, MessageForm, MilestoneDisputeForm, OpenDisputeForm
from jobs.errors import JobError


def dispute_list(request: HttpRequest) -> HttpResponse:
    page = paginate(request, selectors.disputes_of(request.user))
    return render(request, "disputes/list.html", {"page": page})


def open_dispute(request: HttpRequest, transaction_id: int) -> HttpResponse:
    txn = credit_selectors.transaction_for(
        wallet=request.user.wallet, transaction_id=transaction_id
    )
    if txn is None:
        raise Http404("No such transaction in your wallet.")
    refusal = services.why_not_disputable(user=request.user, txn=txn)
    if refusal:
        messages.error(request, refusal)
        return redirect("credits:transaction", txn.pk)
    most = services.disputable_amount(txn)
    form = OpenDisputeForm(request.POST or None, most=most, initial={"amount": most})
    if request.method == "POST" and form.is_valid():
        try:
            dispute = services.open_dispute(user=request.user, txn=txn, **form.cleaned_data)
        except DisputeError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Your dispute is open; staff will reply here.")
            return redirect("disputes:detail", dispute.pk)
    return render(request, "disputes/open.html", {"form": form, "txn": txn})


def open_milestone_dispute(request: HttpRequest, milestone_id: int) -> HttpResponse:
    milestone = selectors.milestone_for(request.user, milestone_id)
    if milestone is None:
        raise Http404("No such milestone in your jobs.")
    refusal = services.why_milestone_not_disputable(user=request.user, milestone=milestone)
    if refusal:
        messages.error(request, refusal)
        return redirect("jobs:detail", milestone.job_id)
    form = MilestoneDisputeForm(
        request.POST or None, most=milestone.amount, initial={"amount": milestone.amount}
    )
    if request.method == "POST" and form.is_valid():
        try:
            dispute = services.open_milestone_dispute(
                user=request.user, milestone=milestone, **form.cleaned_data
            )
        except (DisputeError, JobError) as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "Your dispute is open; nothing is paid until staff decide.")
            return redirect("disputes:detail", dispute.pk)
    context = {"form": form, "milestone": milestone, "job": milestone.job}
    return render(request, "disputes/open_milestone.html", context)


def _own(request: HttpRequest, dispute_id: int):
    dispute = selectors.dispute_of(request.user, dispute_id)
    if dispute is None:
        raise Http404("No such dispute.")
    return dispute


def dispute_detail(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _own(request, dispute_id)
    context = {
        "dispute": dispute,
        "thread": selectors.thread(dispute, include_internal=False),
        "form": MessageForm(),
        "escalate_form": EscalateForm(),
    }
    return render(request, "disputes/detail.html", context)


@require_POST
def post_message(request: HttpRequest, dispute_id: int) -> HttpResponse:
    """Add a message; with htmx, answer with the updated thread only."""
    dispute = _own(request, dispute_id)
    form = MessageForm(request.POST)
    error = sent = None
    if form.is_valid():
        try:
            sent = services.post_message(
                dispute=dispute, author=request.user, body=form.cleaned_data["body"]
            )
        except DisputeError as exc:
            error = exc.message
    else:
        error = "Write a message first (at most 4,000 characters)."
    if request.htmx:
        context = {
            "dispute": dispute,
            "thread": selectors.thread(dispute, include_internal=False),
            "form": MessageForm() if error is None else form,
            "error": error,
            "sent": sent,
        }
        return render(request, "disputes/_thread.html", context)
    if error:
        messages.error(request, error)
    return redirect("disputes:detail", dispute.pk)


@require_POST
def escalate(request: HttpRequest, dispute_id: int) -> HttpResponse:
    dispute = _own(request, dispute_id)
    form = EscalateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "The reason is too long: write at most 4,000 characters.")
        return redirect("disputes:detail", dispute.pk)
    reason = form.cleaned_data["reason"]
    try:
        services.escalate(dispute=dispute, user=request.user, reason=reason)
    except DisputeError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Your dispute was escalated to a senior member of staff.")
    return redirect("disputes:detail", dispute.pk)
