"""Staff powers in the admin: colleagues' approval requests (maker-checker) and the audit trail
of every staff act. Decisions go through `credits.services.staff`; nothing here edits a row."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from accounts.models import User
from core.once import OnceToken
from credits.admin.ledger import LedgerReadOnly
from credits.errors import CreditError
from credits.forms import refusal_text
from credits.models import ApprovalRequest, StaffAction
from credits.selectors import approval_status, approvals_with_status
from credits.services import staff as staff_powers

Status = ApprovalRequest.Status


class ApprovalStatusFilter(admin.SimpleListFilter):
    """Status as people read it: a pending request past its deadline is expired."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return Status.choices

    def queryset(self, request, queryset):
        if self.value() in Status.values:
            return approvals_with_status(queryset, self.value())
        return queryset


class StaffMemberFilter(admin.SimpleListFilter):
    """Only staff members: the people whose acts the trail records."""

    title = "staff member"
    parameter_name = "staff"

    def lookups(self, request, model_admin):
        staff = User.objects.filter(is_staff=True).order_by("email")
        return [(str(user.pk), user.email) for user in staff]

    def queryset(self, request, queryset):
        if self.value() and self.value().isdecimal():
            return queryset.filter(staff_id=int(self.value()))
        return queryset


class DecisionForm(forms.Form):
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        required=False,
        help_text="Recorded with the decision; required to refuse.",
    )


DECISIONS = {"approve": "Approve and post", "refuse": "Refuse"}


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(LedgerReadOnly, admin.ModelAdmin):
    list_display = ["id", "created_at", "operation", "amount", "wallet", "requested_by"]
    list_display += ["shown_status", "expires_at", "decided_by"]
    list_filter = [ApprovalStatusFilter, "operation"]
    search_fields = ["=id", "wallet__user__email", "requested_by__email", "reason"]
    list_select_related = ["wallet__user", "requested_by", "decided_by"]
    fields = ["operation", "wallet", "amount", "reason", "is_promotional", "grant_expires_at"]
    fields += ["priority", "why_approval", "requested_by", "created_at", "expires_at"]
    fields += ["shown_status", "decided_by", "decided_at", "decision_note", "transaction"]
    fields += ["decide"]
    readonly_fields = fields

    @admin.display(description="Status")
    def shown_status(self, approval: ApprovalRequest) -> str:
        return Status(approval_status(approval)).label

    @admin.display(description="Decision")
    def decide(self, approval: ApprovalRequest) -> str:
        if approval_status(approval) != Status.PENDING:
            return "Decided." if approval.decided_by_id else "No longer open."
        return format_html(
            '<a class="button" href="{}">{}</a>',
            reverse("admin:credits_approvalrequest_decide", args=[approval.pk]),
            "Approve or refuse…",
        )

    def get_urls(self):
        return [
            path(
                "<int:approval_id>/decide/",
                self.admin_site.admin_view(self.decide_view),
                name="credits_approvalrequest_decide",
            ),
            *super().get_urls(),
        ]

    def decide_view(self, request: HttpRequest, approval_id: int) -> HttpResponse:
        """A colleague approves (the operation posts) or refuses (with a reason)."""
        if not request.user.has_perm(staff_powers.DECIDE_PERMISSION):
            raise PermissionDenied
        approval = get_object_or_404(
            ApprovalRequest.objects.select_related("wallet__user", "requested_by"), pk=approval_id
        )
        if approval.requested_by_id == request.user.pk:
            self.message_user(
                request,
                "You asked for this: a colleague with the approval permission decides it.",
                messages.INFO,
            )
            return redirect("admin:credits_approvalrequest_change", approval.pk)
        once = OnceToken(request, purpose=f"credits.approval.decide:{approval.pk}")
        if (early := once.answer_early(self.admin_site.each_context(request))) is not None:
            return early
        form = DecisionForm(request.POST or None)
        decision = request.POST.get("decision")
        posted = request.method == "POST" and form.is_valid() and decision in DECISIONS
        if posted and self._decide(request, approval, decision, form):
            url = reverse("admin:credits_approvalrequest_change", args=[approval.pk])
            once.complete(url=url, label=f"the decision on {approval}")
            return redirect("admin:credits_approvalrequest_change", approval.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Decide {approval}",
            "opts": self.model._meta,
            "approval": approval,
            "form": form,
            "decisions": DECISIONS,
        }
        return TemplateResponse(request, "admin/credits/approvalrequest/decide.html", context)

    def _decide(self, request, approval: ApprovalRequest, decision: str, form) -> bool:
        note = form.cleaned_data["note"]
        try:
            if decision == "approve":
                staff_powers.approve(approval=approval, staff=request.user, note=note)
            else:
                staff_powers.refuse(approval=approval, staff=request.user, reason=note)
        except CreditError as error:
            form.add_error("note", refusal_text(error))
            return False
        done = "Approved and posted" if decision == "approve" else "Refused"
        self.message_user(request, f"{done}: {approval}.", messages.SUCCESS)
        return True


@admin.register(StaffAction)
class StaffActionAdmin(LedgerReadOnly, admin.ModelAdmin):
    """What each staff member did: filter by person, kind of act and date."""

    list_display = ["created_at", "staff", "kind", "wallet", "amount", "reason", "transaction"]
    list_filter = [StaffMemberFilter, "kind"]
    search_fields = ["staff__email", "wallet__user__email", "reason", "=transaction__id"]
    list_select_related = ["staff", "wallet__user", "transaction"]
    date_hierarchy = "created_at"
    fields = ["created_at", "staff", "kind", "wallet", "amount", "reason", "transaction"]
    fields += ["approval", "reference_object"]
    readonly_fields = fields
