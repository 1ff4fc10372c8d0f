"""What staff see of an app's use: requests (counted per day as they happen, AppUsageDay) and
credits charged (from the ledger: its spends and captures, never a counter of ours), over the
last 30 days and day by day."""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from credits.models import CreditTransaction
from integrations.models import AppUsageDay, PartnerApp
from integrations.services.caps import CHARGE_KINDS

DAYS = 30


def _since(now: datetime) -> tuple[date, datetime]:
    """The first UTC day of the window, and its first moment."""
    first = now.astimezone(UTC).date() - timedelta(days=DAYS - 1)
    return first, datetime.combine(first, time.min, tzinfo=UTC)


def with_usage(apps: QuerySet, now: datetime | None = None) -> QuerySet:
    """`apps` annotated with `requests_30d` and `charged_30d` (one subquery each)."""
    first_day, first_moment = _since(now or timezone.now())
    requests = (
        AppUsageDay.objects.filter(app=OuterRef("pk"), day__gte=first_day)
        .values("app")
        .annotate(total=Sum("requests"))
        .values("total")
    )
    charged = (
        CreditTransaction.objects.filter(
            actor_app_id=OuterRef("pk"), kind__in=CHARGE_KINDS, created_at__gte=first_moment
        )
        .values("actor_app_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    zero = Value(0, output_field=IntegerField())
    return apps.annotate(
        requests_30d=Coalesce(Subquery(requests, output_field=IntegerField()), zero),
        charged_30d=Coalesce(Subquery(charged, output_field=IntegerField()), zero),
    )


@dataclass(frozen=True)
class UsageDay:
    day: date
    requests: int = 0
    client_errors: int = 0
    server_errors: int = 0
    rate_limited: int = 0
    charged: int = 0


def usage_by_day(app: PartnerApp, now: datetime | None = None) -> list[UsageDay]:
    """The last DAYS UTC days, oldest first, each with its requests and credits charged (a day
    without either is there with zeros, so a chart's gaps are real)."""
    first_day, first_moment = _since(now or timezone.now())
    counted = {row.day: row for row in AppUsageDay.objects.filter(app=app, day__gte=first_day)}
    charged = dict(
        CreditTransaction.objects.filter(
            actor_app_id=app.pk, kind__in=CHARGE_KINDS, created_at__gte=first_moment
        )
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(total=Sum("amount"))
        .values_list("day", "total")
    )
    days = []
    for offset in range(DAYS):
        day = first_day + timedelta(days=offset)
        row = counted.get(day)
        days.append(
            UsageDay(
                day=day,
                requests=row.requests if row else 0,
                client_errors=row.client_errors if row else 0,
                server_errors=row.server_errors if row else 0,
                rate_limited=row.rate_limited if row else 0,
                charged=charged.get(day) or 0,
            )
        )
    return days
