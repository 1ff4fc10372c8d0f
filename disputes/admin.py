"""Staff's dispute queue: filters, time waiting, metrics, and every step through a form that
calls the dispute services (which post refunds through the ledger, and settle a disputed
milestone through the jobs services)."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from core.fields import DigitsField
from core.once import OnceToken
from disputes import selectors, services
from disputes.errors import DisputeError
from disputes.models import Dispute, DisputeMessage
from disputes.templatetags.disputes import waited


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"
    AGES = {
        "1": ("Older than a day", 1),
        "3": ("Older than 3 days", 3),
        "7": ("Older than a week", 7),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _) in self.AGES.items()]

    def queryset(self, request, queryset):
        if self.value() in self.AGES:
            days = self.AGES[self.value()][1]
            return queryset.filter(created_at__lte=timezone.now() - timedelta(days=days))
        return queryset


class AssigneeFilter(admin.RelatedFieldListFilter):
    """Only staff can be assigned (services.assign refuses anyone else), so only staff are
    offered: a list of every user would be a list of choices that are all refused."""

    def field_choices(self, field, request, model_admin):
        staff = get_user_model().objects.filter(is_staff=True).order_by("email")
        return [(user.pk, str(user)) for user in staff]


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(
        queryset=get_user_model().objects.filter(is_staff=True, is_active=True).order_by("email"),
        label="Assign to",
        help_text="The staff member who works on it and is told of the user's replies.",
    )


class ResolveForm(forms.Form):
    amount = DigitsField(min_value=1, label="Credits to refund")
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text="Sent to the user."
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Sent to the user."
    )


class QuestionForm(forms.Form):
    question = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), help_text="Sent to the user."
    )


class NoteForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), label="Message")
    internal = forms.BooleanField(
        required=False, initial=True, label="Internal note (the user never sees it)"
    )


STEPS = {
    "assign": ("Assign", AssignForm),
    "resolve": ("Resolve with a refund", ResolveForm),
    "reject": ("Reject", RejectForm),
    "ask": ("Ask the user for information", QuestionForm),
    "note": ("Write a message or an internal note", NoteForm),
}


def _run(step: str, dispute: Dispute, staff, data: dict) -> str:
    """Carry out one step through the services; the message to show."""
    if step == "assign":
        services.assign(dispute=dispute, assignee=data["assignee"], by=staff)
        return f"Assigned to {data['assignee'].email}."
    if step == "resolve":
        settles_milestone = dispute.transaction_id is None
        services.resolve(dispute=dispute, staff=staff, amount=data["amount"], note=data["note"])
        if settles_milestone:
            return f"Gave {data['amount']} credits back, paid the rest; the dispute is resolved."
        return f"Refunded {data['amount']} credits; the dispute is resolved."
    if step == "reject":
        settles_milestone = dispute.transaction_id is None
        services.reject(dispute=dispute, staff=staff, reason=data["reason"])
        return "The dispute is rejected" + (", the milestone paid." if settles_milestone else ".")
    if step == "ask":
        services.request_information(dispute=dispute, staff=staff, question=data["question"])
        return "Question sent; the dispute waits for the user."
    services.post_message(
        dispute=dispute, author=staff, body=data["body"], internal=data["internal"]
    )
    return "Note added." if data["internal"] else "Message sent to the user."


class MessageInline(admin.TabularInline):
    model = DisputeMessage
    fields = ["created_at", "author", "internal", "body"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Dispute)
class DisputeAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "user", "subject", "reason", "amount", "status", "level"]
    list_display += ["assignee", "waiting"]
    list_filter = ["status", "level", "reason", AgeFilter, ("assignee", AssigneeFilter)]
    search_fields = ["=id", "user__email", "description"]
    list_select_related = ["user", "assignee", "transaction", "milestone__job"]
    ordering = ["created_at"]
    actions = ["assign_to_me"]
    inlines = [MessageInline]
    change_list_template = "admin/disputes/dispute/change_list.html"
    readonly_fields = [
        "user",
        "transaction_link",
        "milestone_link",
        "reason",
        "description",
        "amount",
        "status",
        "level",
        "assignee",
        "refund",
        "rejection_reason",
        "created_at",
        "first_response_at",
        "closed_at",
        "steps",
    ]
    fields = readonly_fields

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # The dispute page is read-only; every step has its own form.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="Waiting", ordering="created_at")
    def waiting(self, dispute: Dispute) -> str:
        if not dispute.is_active:
            return "—"
        return waited(timezone.now() - dispute.created_at)

    @admin.display(description="About")
    def subject(self, dispute: Dispute) -> str:
        if dispute.milestone_id:
            return f"Job #{dispute.milestone.job_id}: {dispute.milestone.title}"
        return f"{dispute.transaction.get_kind_display()} #{dispute.transaction_id}"

    @admin.display(description="Milestone")
    def milestone_link(self, dispute: Dispute) -> str:
        milestone = dispute.milestone
        if milestone is None:
            return "—"
        return format_html(
            '<a href="{}">Job #{}: {}</a> · {}: {} credits ({})',
            reverse("jobs:detail", args=[milestone.job_id]),
            milestone.job_id,
            milestone.job.title,
            milestone.title,
            milestone.amount,
            milestone.get_status_display().lower(),
        )

    @admin.display(description="Transaction")
    def transaction_link(self, dispute: Dispute) -> str:
        txn = dispute.transaction
        if txn is None:
            return "— (the milestone is not paid yet)"
        url = reverse("admin:credits_credittransaction_change", args=[txn.pk])
        return format_html(
            '<a href="{}">{} #{}</a>: {} credits, {}',
            url,
            txn.get_kind_display(),
            txn.pk,
            txn.amount,
            txn.description,
        )

    @admin.display(description="Next steps")
    def steps(self, dispute: Dispute) -> str:
        if not dispute.is_active:
            return "Closed."
        return format_html_join(
            " ",
            '<a class="button" href="{}">{}</a>',
            (
                (reverse("admin:disputes_dispute_step", args=[dispute.pk, name]), title)
                for name, (title, _) in STEPS.items()
            ),
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "metrics": selectors.queue_metrics()}
        return super().changelist_view(request, extra_context=extra_context)

    @admin.action(description="Assign to me", permissions=["change"])
    def assign_to_me(self, request, queryset):
        for dispute in queryset:
            try:
                services.assign(dispute=dispute, assignee=request.user, by=request.user)
            except DisputeError as error:
                self.message_user(request, f"#{dispute.pk}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"#{dispute.pk}: assigned to you.", messages.SUCCESS)

    def get_urls(self):
        return [
            path(
                "<int:dispute_id>/step/<str:step>/",
                self.admin_site.admin_view(self.step_view),
                name="disputes_dispute_step",
            ),
            *super().get_urls(),
        ]

    def step_view(self, request, dispute_id: int, step: str):
        if step not in STEPS or not self.has_change_permission(request):
            raise PermissionDenied
        dispute = get_object_or_404(Dispute, pk=dispute_id)
        title, form_class = STEPS[step]
        # Each drawn step form acts once: a refund (or a message) is not sent twice after Back.
        once = OnceToken(request, purpose=f"disputes.{step}:{dispute.pk}")
        if (early := once.answer_early(self.admin_site.each_context(request))) is not None:
            return early
        initial = {"resolve": {"amount": dispute.amount}, "assign": {"assignee": request.user}}
        initial = initial.get(step, {})
        form = form_class(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                done = _run(step, dispute, request.user, form.cleaned_data)
            except DisputeError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, done, messages.SUCCESS)
                url = reverse("admin:disputes_dispute_change", args=[dispute.pk])
                once.complete(url=url, label=f"{title.lower()} on dispute #{dispute.pk}")
                return redirect(url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{title}: dispute #{dispute.pk}",
            "opts": self.model._meta,
            "dispute": dispute,
            "thread": selectors.thread(dispute, include_internal=True),
            "form": form,
        }
        return TemplateResponse(request, "admin/disputes/dispute/step.html", context)
