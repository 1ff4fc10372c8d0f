"""What a partner app reads about itself with its API key (the /api/v1/app/ endpoints): the users
who consented and their cap use, its usage per day, its holds and its charges. Reads only.

Credits moved are computed from the ledger (transactions the app asked for: actor_app_id), never
kept as counters; requests and active users come from the per-day rows counted as calls happen
(integrations.services.usage).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate

from credits.models import CreditTransaction, Hold
from integrations import scopes
from integrations.models import AppUsageDay, AppUserDay, Consent, PartnerApp
from integrations.services.caps import CapUse, used_by_wallet

Kind = CreditTransaction.Kind
CHARGE_KINDS = (Kind.SPEND, Kind.CAPTURE, Kind.REFUND)
# What the usage figures sum per day, by transaction kind.
MOVED = {"held": Kind.HOLD, "captured": Kind.CAPTURE, "spent": Kind.SPEND, "refunded": Kind.REFUND}


def consents_of(app: PartnerApp):
    """The app's live consents (revoked ones are gone for the app), newest first."""
    return Consent.objects.filter(app=app, revoked_at__isnull=True).select_related("user__wallet")


def with_cap_use(consents: list[Consent]) -> list[Consent]:
    """Each consent with `cap_use` (this 30-day period), for a page at once."""
    if not consents:
        return consents
    wallet_ids = [consent.user.wallet.pk for consent in consents]
    used = used_by_wallet(app_id=consents[0].app_id, wallet_ids=wallet_ids)
    for consent in consents:
        consent.cap_use = CapUse(cap=consent.cap, used=used[consent.user.wallet.pk])
        consent.shares_email = "email" in scopes.parse(consent.scopes)
    return consents


def holds_of(app: PartnerApp):
    """Holds the app placed, on any user's wallet."""
    return Hold.objects.filter(
        transactions__kind=Kind.HOLD, transactions__actor_app_id=app.pk
    ).select_related("wallet")


def charges_of(app: PartnerApp):
    """What the app charged (spends, captures) and gave back (refunds)."""
    return CreditTransaction.objects.filter(
        actor_app_id=app.pk, kind__in=CHARGE_KINDS
    ).select_related("wallet")


@dataclass
class UsageDay:
    day: date
    requests: int = 0
    client_errors: int = 0
    server_errors: int = 0
    rate_limited: int = 0
    held: int = 0
    captured: int = 0
    spent: int = 0
    refunded: int = 0
    active_users: int = 0


def usage(app: PartnerApp, *, since: date, until: date) -> list[UsageDay]:
    """Every UTC day from `since` to `until` (inclusive), oldest first, days without calls as
    zeros: three queries, whatever the range."""
    days = {
        since + timedelta(days=n): UsageDay(since + timedelta(days=n))
        for n in range((until - since).days + 1)
    }
    for row in AppUsageDay.objects.filter(app=app, day__range=(since, until)).values(
        "day", "requests", "client_errors", "server_errors", "rate_limited"
    ):
        figures = days[row.pop("day")]
        for name, value in row.items():
            setattr(figures, name, value)
    moved = (
        CreditTransaction.objects.filter(
            actor_app_id=app.pk,
            kind__in=MOVED.values(),
            created_at__gte=datetime.combine(since, time.min, tzinfo=UTC),
            created_at__lt=datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC),
        )
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day")
        .annotate(**{name: Sum("amount", filter=Q(kind=kind)) for name, kind in MOVED.items()})
    )
    for row in moved:
        figures = days[row.pop("day")]
        for name, value in row.items():
            setattr(figures, name, value or 0)
    for row in (
        AppUserDay.objects.filter(app=app, day__range=(since, until))
        .values("day")
        .annotate(users=Count("id"))
    ):
        days[row["day"]].active_users = row["users"]
    return list(days.values())
