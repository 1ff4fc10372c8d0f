"""The admin's Analytics section: staff with `analytics.view_analytics` see it; others 403.

Every page is a `ReportPage`: a period of whole months in UTC (this month by default), a
currency where its figures are money (never summed across currencies), and a report
(analytics.report) shown as tables with their charts and downloadable as the same CSV.
"""

import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from analytics import (
    cohorts,
    comparison,
    disputes,
    flow,
    money,
    promotions,
    subscriptions,
    usage,
)
from analytics.chart import bars
from analytics.models import (
    Cohorts,
    CreditsFlow,
    DeferredRevenue,
    Disputes,
    JobsAndApps,
    Overview,
    Promotions,
    Revenue,
    Subscriptions,
)
from analytics.periods import Period, months
from analytics.report import Report

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


class ReportPage(AnalyticsPage):
    """One report for the period (and currency) the query string asks:
    ?from=YYYY-MM&to=YYYY-MM&currency=usd&format=csv."""

    in_money = True  # whether the page asks for a currency

    def report(self, period: Period, currency: str) -> Report:
        raise NotImplementedError

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_permission(request):
            raise PermissionDenied
        this_month = f"{timezone.now():%Y-%m}"
        first = request.GET.get("from") or this_month
        last = request.GET.get("to") or first
        errors = []
        try:
            period = months(first, last)
        except ValueError as refusal:
            errors.append(str(refusal))
            first = last = this_month
            period = months(first)
        # As parsed (`months` strips what it reads): what was asked may hold a newline, and
        # the download's file name is a header.
        first, last = f"{period.since:%Y-%m}", f"{period.months[-1][0]:%Y-%m}"
        currencies = money.currencies()
        currency = (request.GET.get("currency") or currencies[0]).strip().lower()
        if self.in_money and currency not in currencies:
            errors.append(
                f"No figures are kept in {currency!r}: pick one of {', '.join(currencies)}."
            )
            currency = currencies[0]
        wanted = request.GET.get("format", "").strip().lower()
        if wanted not in ("", "csv"):
            errors.append(f"{wanted!r} is not a download this page offers: ask for format=csv.")
        report = self.report(period, currency if self.in_money else "")
        if wanted == "csv" and not errors:
            # Only a currency checked above names the file: a page without money checks none.
            named = [self.opts.model_name, first, last] + ([currency] if self.in_money else [])
            return _csv(report, "-".join(named) + ".csv")
        context = {
            **self.admin_site.each_context(request),
            "title": f"{report.title}, {period.label()}",
            "opts": self.model._meta,
            "first": first,
            "last": last,
            "currency": currency,
            "currencies": currencies if self.in_money else [],
            "errors": errors,
            "report": report,
            "ongoing": period.until > timezone.now(),
            "tables": [
                {"table": table, "rows": table.shown(), "chart": bars(table)}
                for table in report.tables
            ],
        }
        return TemplateResponse(request, "admin/analytics/report.html", context)


@admin.register(Overview)
class OverviewAdmin(ReportPage):
    def report(self, period, currency):
        return comparison.overview(period, currency).report()


@admin.register(CreditsFlow)
class CreditsFlowAdmin(ReportPage):
    in_money = False

    def report(self, period, currency):
        return flow.credits_flow(since=period.since, until=period.until).report()


@admin.register(Revenue)
class RevenueAdmin(ReportPage):
    def report(self, period, currency):
        return money.revenue(period, currency).report()


@admin.register(DeferredRevenue)
class DeferredRevenueAdmin(ReportPage):
    def report(self, period, currency):
        return money.deferred_revenue(period, currency).report()


@admin.register(Promotions)
class PromotionsAdmin(ReportPage):
    def report(self, period, currency):
        return promotions.promotions(period, currency).report()


@admin.register(Subscriptions)
class SubscriptionsAdmin(ReportPage):
    def report(self, period, currency):
        return subscriptions.subscriptions(period, currency).report()


@admin.register(Disputes)
class DisputesAdmin(ReportPage):
    in_money = False

    def report(self, period, currency):
        return disputes.disputes(period).report()


@admin.register(JobsAndApps)
class JobsAndAppsAdmin(ReportPage):
    in_money = False

    def report(self, period, currency):
        return usage.jobs_and_apps(period).report()


@admin.register(Cohorts)
class CohortsAdmin(ReportPage):
    in_money = False  # a cohort counts people, whatever currency they paid in

    def report(self, period, currency):
        return cohorts.cohorts(period).report()


def _csv(report: Report, filename: str) -> HttpResponse:
    """Each table as the page shows it: its caption, its header, its rows, then a blank line.
    Figures are written plainly (1234.50, not $1,234.50) for a spreadsheet to read."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    for table in report.tables:
        writer.writerow([table.caption])
        writer.writerow(table.columns)
        writer.writerows(["" if value is None else value for value in row] for row in table.rows)
        writer.writerow([])
    return response
