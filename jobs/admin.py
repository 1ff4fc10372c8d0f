"""Staff's jobs: each job with its milestones, files, links and log, all read-only; staff who may
deliver jobs override a milestone (force-accept, force-release) through an intermediate form with
a reason, which calls jobs.services. Nothing here adds or edits a job, a milestone's amount,
status or hold: those change only through the job flow's services (and so the ledger)."""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.once import OnceToken
from credits.errors import CreditError
from jobs import services
from jobs.errors import JobError
from jobs.models import Activity, File, Job, Link, Milestone
from jobs.services.access import may_deliver


class OverrideForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="Written to the job's log and the ledger, and sent to the client.",
    )


@dataclass(frozen=True)
class Override:
    title: str
    run: Callable  # (milestone=, staff=, reason=) -> Milestone
    done: str


OVERRIDES = {
    "force_accept": Override(
        "Force-accept", services.force_accept, "accepted: its credits were paid"
    ),
    "force_release": Override(
        "Force-release", services.force_release, "released: its credits went back to the client"
    ),
}


def may_override(milestone: Milestone) -> bool:
    """Whether an override could apply now (the services decide, this only hides buttons that
    would be refused)."""
    return milestone.status not in (*Milestone.FINAL, Milestone.Status.PLANNED) and (
        milestone.status != Milestone.Status.DISPUTED
    )


class DeliverersMayView:
    """Staff who may deliver jobs read the jobs admin without the model's view permission."""

    def has_view_permission(self, request, obj=None):
        return may_deliver(request.user) or super().has_view_permission(request, obj)

    def has_module_permission(self, request):
        return may_deliver(request.user) or super().has_module_permission(request)


class ReadOnlyInline(DeliverersMayView, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MilestoneInline(ReadOnlyInline):
    """Read-only always: a draft's milestones are planned by its client (plan_milestones checks
    the budget adds up), a submitted one's amount is held in the ledger."""

    model = Milestone
    fields = ["position", "title", "due_date", "amount", "status", "review_ends_at"]
    fields += ["decided_at", "decision_reason", "overrides"]
    readonly_fields = fields

    @admin.display(description="Staff override")
    def overrides(self, milestone: Milestone) -> str:
        if not may_override(milestone):
            return "—"
        return format_html_join(
            " ",
            '<a class="button" href="{}?ids={}">{}</a>',
            (
                (reverse("admin:jobs_milestone_override", args=[name]), milestone.pk, o.title)
                for name, o in OVERRIDES.items()
            ),
        )


class FileInline(ReadOnlyInline):
    model = File
    fields = ["name", "folder", "size", "content_type", "delivery", "uploaded_by", "created_at"]
    readonly_fields = fields


class LinkInline(ReadOnlyInline):
    model = Link
    fields = ["label", "url", "delivery", "added_by", "created_at"]
    readonly_fields = fields


class ActivityInline(ReadOnlyInline):
    model = Activity
    verbose_name_plural = "activity log"
    fields = ["created_at", "actor", "verb", "milestone", "reason", "details"]
    readonly_fields = fields


class StaffOverrides(DeliverersMayView):
    """What the job and milestone admins share: read-only pages, and the override actions."""

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Pages are read-only; every change is a step of the job flow.
        return False

    def has_deliver_permission(self, request) -> bool:
        return may_deliver(request.user)

    def _start(self, milestone_ids, name: str) -> HttpResponse:
        ids = ",".join(str(pk) for pk in milestone_ids)
        return redirect(reverse("admin:jobs_milestone_override", args=[name]) + f"?ids={ids}")


@admin.register(Job)
class JobAdmin(StaffOverrides, admin.ModelAdmin):
    list_display = ["id", "title", "client", "status", "priority", "budget", "assignee"]
    list_display += ["submitted_at"]
    list_filter = ["status", "priority", "category"]
    search_fields = ["=id", "title", "client__email", "company"]
    list_select_related = ["client", "assignee"]
    actions = ["force_accept_open_milestones", "force_release_open_milestones"]
    inlines = [MilestoneInline, FileInline, LinkInline, ActivityInline]
    readonly_fields = ["client", "status", "assignee", "budget", "created_at", "submitted_at"]
    readonly_fields += ["assigned_at", "closed_at"]
    fieldsets = [
        (None, {"fields": ["client", "status", "assignee", "budget"]}),
        ("Basic info", {"fields": ["title", "summary", "category", "priority"]}),
        ("Business info", {"fields": ["company", "industry", "audience", "website"]}),
        ("Project details", {"fields": ["scope", "requirements", "deliverables"]}),
        ("Branding & design", {"fields": ["colours", "fonts", "style_notes", "references"]}),
        ("Dates", {"fields": ["created_at", "submitted_at", "assigned_at", "closed_at"]}),
    ]

    def _open_milestones(self, queryset):
        open_ones = Milestone.objects.filter(job__in=queryset).exclude(
            status__in=[*Milestone.FINAL, Milestone.Status.PLANNED, Milestone.Status.DISPUTED]
        )
        return open_ones.order_by("pk").values_list("pk", flat=True)

    @admin.action(
        description="Force-accept the open milestones of the selected jobs", permissions=["deliver"]
    )
    def force_accept_open_milestones(self, request, queryset):
        return self._start(self._open_milestones(queryset), "force_accept")

    @admin.action(
        description="Force-release the open milestones of the selected jobs",
        permissions=["deliver"],
    )
    def force_release_open_milestones(self, request, queryset):
        return self._start(self._open_milestones(queryset), "force_release")


@admin.register(Milestone)
class MilestoneAdmin(StaffOverrides, admin.ModelAdmin):
    list_display = ["id", "job_link", "title", "status", "amount", "due_date", "review_ends_at"]
    list_filter = ["status", "job__priority"]
    search_fields = ["=id", "title", "job__title", "job__client__email"]
    list_select_related = ["job"]
    actions = ["force_accept", "force_release"]
    fields = ["job_link", "position", "title", "description", "due_date", "amount", "status"]
    fields += ["hold", "review_ends_at", "changes_requested_at", "decided_at", "decision_reason"]
    readonly_fields = fields

    @admin.display(description="Job", ordering="job")
    def job_link(self, milestone: Milestone) -> str:
        url = reverse("admin:jobs_job_change", args=[milestone.job_id])
        return format_html('<a href="{}">{}</a>', url, milestone.job)

    @admin.action(description="Force-accept the selected milestones", permissions=["deliver"])
    def force_accept(self, request, queryset):
        return self._start(queryset.order_by("pk").values_list("pk", flat=True), "force_accept")

    @admin.action(description="Force-release the selected milestones", permissions=["deliver"])
    def force_release(self, request, queryset):
        return self._start(queryset.order_by("pk").values_list("pk", flat=True), "force_release")

    def get_urls(self):
        return [
            path(
                "override/<str:name>/",
                self.admin_site.admin_view(self.override_view),
                name="jobs_milestone_override",
            ),
            *super().get_urls(),
        ]

    def override_view(self, request: HttpRequest, name: str) -> HttpResponse:
        """The intermediate page of an override: the milestones, a reason, then the run. The
        drawn form acts once (core/once.py)."""
        if name not in OVERRIDES or not may_deliver(request.user):
            raise PermissionDenied
        override = OVERRIDES[name]
        ids = [int(pk) for pk in request.GET.get("ids", "").split(",") if pk.isdecimal()]
        chosen = list(Milestone.objects.filter(pk__in=ids).select_related("job__client"))
        if not chosen:
            self.message_user(request, "Select at least one open milestone.", messages.WARNING)
            return redirect("admin:jobs_milestone_changelist")
        key = ",".join(str(m.pk) for m in chosen)
        once = OnceToken(request, purpose=f"jobs.{name}:{key}")
        if (early := once.answer_early(self.admin_site.each_context(request))) is not None:
            return early
        form = OverrideForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            done = self._run(request, override, chosen, form.cleaned_data["reason"])
            if done:
                once.complete(**_result_link(name, done))
            if len({m.job_id for m in chosen}) == 1:
                return redirect("admin:jobs_job_change", chosen[0].job_id)
            return redirect("admin:jobs_milestone_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": f"{override.title} {len(chosen)} milestone{'s' if len(chosen) > 1 else ''}",
            "opts": self.model._meta,
            "form": form,
            "milestones": chosen,
            "submit": override.title,
        }
        return TemplateResponse(request, "admin/jobs/milestone/override.html", context)

    def _run(self, request, override: Override, chosen: list[Milestone], reason: str) -> list:
        """All the chosen milestones or none, in one transaction: a refusal of one (a step the
        job flow refuses, or the ledger's, such as a frozen wallet) rolls back those before it,
        so staff never face a half-done override to piece together."""
        try:
            with transaction.atomic():
                # Every chosen job locked first, in id order, as one step locks one job before
                # its client's wallet: one job at a time could deadlock with a client's step.
                job_ids = sorted({milestone.job_id for milestone in chosen})
                list(Job.objects.select_for_update().filter(pk__in=job_ids).order_by("pk"))
                for milestone in chosen:
                    failed = milestone
                    override.run(milestone=milestone, staff=request.user, reason=reason)
        except (JobError, CreditError) as error:
            whole = f"all {len(chosen)} milestones or none" if len(chosen) > 1 else "nothing"
            self.message_user(
                request,
                f"{failed}: {error.message} Nothing was changed (an override does {whole}).",
                messages.ERROR,
            )
            return []
        for milestone in chosen:
            self.message_user(request, f"{milestone} {override.done}.", messages.SUCCESS)
        return chosen


def _result_link(name: str, done: list[Milestone]) -> dict:
    what = name.replace("_", "-")
    if len(done) == 1:
        url = reverse("admin:jobs_job_change", args=[done[0].job_id])
        return {"url": url, "label": f"{what} of {done[0]} on job #{done[0].job_id}"}
    ids = ",".join(str(m.pk) for m in done)
    url = reverse("admin:jobs_milestone_changelist") + f"?id__in={ids}"
    return {"url": url, "label": f"{what} of {len(done)} milestones"}
