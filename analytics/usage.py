"""Jobs and partner apps: the credits their holds reserved, captured and released by month, and
the partner apps that moved the most credits in the period, with their requests and errors.

From the ledger, never from counters of ours: a **job's** hold is one a job milestone points at
(jobs.Milestone.hold, set when the job is submitted); a **partner app's** hold is one whose
placing transaction names the app (actor_app_id). Each figure is the sum of the transactions'
amounts in the month they were written (UTC): holds placed (reserved), captures (captured) and
releases (released, a final capture's unused rest and an expiry included), whoever asked for
them. An app's credits moved are its spends, captures and refunds (the transactions it asked
for); its requests and errors are the per-day counts integrations keeps as calls happen
(integrations.models.AppUsageDay).
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Q, Sum
from django.db.models.functions import TruncMonth

from analytics.periods import Period
from analytics.report import Report, Table
from credits.models import CreditTransaction, Hold
from integrations.models import AppUsageDay, PartnerApp

Kind = CreditTransaction.Kind
HOLD_KINDS = {"reserved": Kind.HOLD, "captured": Kind.CAPTURE, "released": Kind.RELEASE}
MOVED_KINDS = {"spent": Kind.SPEND, "captured": Kind.CAPTURE, "refunded": Kind.REFUND}
TOP = 10  # partner apps in the ranking


@dataclass
class HoldMonth:
    start: datetime
    reserved: int = 0
    captured: int = 0
    released: int = 0
    spent: int = 0  # partner apps only: charged without a hold


@dataclass
class AppMoved:
    app_id: int
    name: str
    spent: int
    captured: int
    refunded: int
    requests: int = 0
    client_errors: int = 0
    server_errors: int = 0

    @property
    def moved(self) -> int:
        return self.spent + self.captured + self.refunded


@dataclass
class JobsAndApps:
    period: Period
    jobs: list[HoldMonth]
    apps: list[HoldMonth]
    top_apps: list[AppMoved]

    def figures(self) -> dict[str, int]:
        """The period's totals by name."""
        found = {}
        for who, months in (("jobs", self.jobs), ("apps", self.apps)):
            for name in ("reserved", "captured", "released", "spent"):
                if who == "jobs" and name == "spent":
                    continue
                found[f"{who}_{name}"] = sum(getattr(m, name) for m in months)
        found["apps_moved"] = sum(app.moved for app in self.top_apps)
        return found

    def report(self) -> Report:
        label = self.period.label()
        jobs = _by_month_table(
            f"Job milestones' holds by month, {label}",
            self.jobs,
            ["Month", "Reserved", "Captured", "Released"],
            ("reserved", "captured", "released"),
        )
        apps = _by_month_table(
            f"Partner apps' holds and spends by month, {label}",
            self.apps,
            ["Month", "Reserved", "Captured", "Released", "Spent without a hold"],
            ("reserved", "captured", "released", "spent"),
        )
        top = Table(
            caption=f"Top partner apps by credits moved, {label}",
            columns=[
                "Partner app",
                "Credits moved",
                "Spent",
                "Captured",
                "Refunded",
                "Requests",
                "Client errors (4xx)",
                "Server errors (5xx)",
            ],
            rows=[
                [
                    app.name,
                    app.moved,
                    app.spent,
                    app.captured,
                    app.refunded,
                    app.requests,
                    app.client_errors,
                    app.server_errors,
                ]
                for app in self.top_apps
            ],
            chart_column=1,
        )
        return Report(title="Jobs and partner apps", basis=BASIS, tables=[jobs, apps, top])


BASIS = (
    "Credits, from the ledger, by month in UTC of each transaction. A job's holds are those a "
    "job milestone points at (placed when the job is submitted); a partner app's are those the "
    "app placed. Reserved = holds placed, captured = captures of those holds, released = "
    "releases of them (a final capture's unused rest and an expired hold included); partner "
    "apps' spends without a hold are shown beside. An app's credits moved = its spends + "
    f"captures + refunds in the period (the top {TOP}, the chart draws them); its requests and "
    "errors are the calls integrations counts per UTC day as they happen (4xx includes 429)."
)


def _by_month_table(caption, months, columns, names) -> Table:
    rows = [[f"{m.start:%Y-%m}", *(getattr(m, name) for name in names)] for m in months]
    if len(months) > 1:
        rows.append(["Total", *(sum(getattr(m, name) for m in months) for name in names)])
    return Table(
        caption=caption,
        columns=columns,
        rows=rows,
        charted=tuple(row[0] for row in rows if row[0] != "Total"),
        chart_column=2,  # captured
    )


def jobs_and_apps(period: Period) -> JobsAndApps:
    """The period's figures: five queries, whatever its length."""
    app_holds = Hold.objects.filter(
        transactions__kind=Kind.HOLD, transactions__actor_app_id__isnull=False
    )
    jobs = _hold_months(period, Q(hold__milestone__isnull=False))
    apps = _hold_months(
        period,
        Q(hold__in=app_holds) | Q(kind=Kind.SPEND, actor_app_id__isnull=False),
    )
    return JobsAndApps(period=period, jobs=jobs, apps=apps, top_apps=_top_apps(period))


def _in(period: Period) -> Q:
    return Q(created_at__gte=period.since, created_at__lt=period.until)


def _hold_months(period: Period, whose: Q) -> list[HoldMonth]:
    months = {start: HoldMonth(start) for start, _ in period.months}
    kinds = {**HOLD_KINDS, "spent": Kind.SPEND}
    rows = (
        CreditTransaction.objects.filter(whose, _in(period), kind__in=kinds.values())
        .annotate(month=TruncMonth("created_at", tzinfo=UTC))
        .values("month")
        .annotate(**{name: Sum("amount", filter=Q(kind=kind)) for name, kind in kinds.items()})
        .order_by()
    )
    for row in rows:
        month = months[row.pop("month")]
        for name, total in row.items():
            setattr(month, name, total or 0)
    return list(months.values())


def _top_apps(period: Period) -> list[AppMoved]:
    moved = list(
        CreditTransaction.objects.filter(
            _in(period), actor_app_id__isnull=False, kind__in=MOVED_KINDS.values()
        )
        .values("actor_app_id")
        .annotate(
            total=Sum("amount"),
            **{name: Sum("amount", filter=Q(kind=kind)) for name, kind in MOVED_KINDS.items()},
        )
        .order_by("-total", "actor_app_id")[:TOP]
    )
    if not moved:
        return []
    ids = [row["actor_app_id"] for row in moved]
    names = dict(PartnerApp.objects.filter(pk__in=ids).values_list("pk", "name"))
    calls = {
        row["app"]: row
        for row in AppUsageDay.objects.filter(
            app_id__in=ids, day__gte=period.since.date(), day__lt=period.until.date()
        )
        .values("app")
        .annotate(
            requests=Sum("requests"),
            client_errors=Sum("client_errors"),
            server_errors=Sum("server_errors"),
        )
        .order_by()
    }
    found = []
    for row in moved:
        app_id = row["actor_app_id"]
        counted = calls.get(app_id, {})
        found.append(
            AppMoved(
                app_id=app_id,
                name=names.get(app_id, f"App #{app_id} (deleted)"),
                spent=row["spent"] or 0,
                captured=row["captured"] or 0,
                refunded=row["refunded"] or 0,
                requests=counted.get("requests", 0),
                client_errors=counted.get("client_errors", 0),
                server_errors=counted.get("server_errors", 0),
            )
        )
    return found
