"""The admin's Analytics section: staff with `analytics.view_analytics` see it; others 403."""

import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from analytics.chart import flow_bars
from analytics.flow import credits_flow
from analytics.models import CreditsFlow
from analytics.periods import month

PERMISSION = "analytics.view_analytics"


class AnalyticsPage(admin.ModelAdmin):
    """A page of figures, not a list of rows: viewing needs the analytics permission, and
    nothing can be added, changed or deleted."""

    def get_urls(self):
        # The page only: the model has no table, so no object can be viewed, changed or deleted.
        name = f"{self.opts.app_label}_{self.opts.model_name}_changelist"
        return [path("", self.admin_site.admin_view(self.changelist_view), name=name)]

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(PERMISSION)

    def has_module_permission(self, request) -> bool:
        return request.user.has_perm(PERMISSION)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CreditsFlow)
class CreditsFlowAdmin(AnalyticsPage):
    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        asked = request.GET.get("month") or f"{timezone.now():%Y-%m}"
        error = None
        try:
            since, until = month(asked)
        except ValueError as refusal:
            error = str(refusal)
            asked = f"{timezone.now():%Y-%m}"
            since, until = month(asked)
        flow = credits_flow(since=since, until=until)
        if request.GET.get("format") == "csv" and error is None:
            return _csv(flow.rows(), f"credits-flow-{asked}.csv")
        context = {
            **self.admin_site.each_context(request),
            "title": f"Credits flow, {since:%B %Y}",
            "opts": self.model._meta,
            "month": asked,
            "month_error": error,
            "flow": flow,
            "ongoing": flow.until > timezone.now(),
            "rows": flow.rows(),
            "chart": flow_bars(flow.chart_rows()),
        }
        return TemplateResponse(request, "admin/analytics/credits_flow.html", context)


def _csv(rows: list[tuple[str, int]], filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(["Figure", "Credits"])
    writer.writerows(rows)
    return response
