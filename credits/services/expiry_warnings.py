"""Expiry warnings: credits.expiring, 7 days and then 1 day before a grant's credits expire.

Once per grant per stage: the grant's `warned_days` says which warning went last (7, then 1),
set in the same transaction as the events. A grant that arrives with less than a day to live
gets only the 1-day warning; one whose credits are all spent (or held) gets none. Suspended
wallets are left out, as their credits do not expire while suspended (expiry.due_grants).

Set-based: a batch of grants is claimed (locked, skipping any a posting holds at that moment:
the next run warns them), marked and announced with three statements, whatever its size.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from credits.models import CreditGrant, Wallet
from events.outbox import Announcement, announce_all

# The warnings, nearest first: a grant due within a day is warned for that day, not for 7.
STAGES = (1, 7)
BATCH = 500


@dataclass
class WarningRun:
    """How many grants were warned about, per stage (days before their expiry)."""

    by_days: dict[int, int]

    @property
    def total(self) -> int:
        return sum(self.by_days.values())


def send_expiry_warnings(*, now: datetime | None = None) -> WarningRun:
    """Warn about every grant with credits left that expires within 7 days (then 1), once per
    grant per stage. Safe to run twice and beside live traffic."""
    now = now or timezone.now()
    run = WarningRun(by_days={})
    for days in STAGES:
        run.by_days[days] = _warn(days, now)
    return run


def _due(days: int, now: datetime):
    """Grants with credits left expiring within `days` and not yet warned for that stage."""
    return (
        CreditGrant.objects.filter(
            remaining__gt=0, expires_at__gt=now, expires_at__lte=now + timedelta(days=days)
        )
        .filter(Q(warned_days__isnull=True) | Q(warned_days__gt=days))
        .exclude(wallet__status=Wallet.Status.SUSPENDED)
    )


def _warn(days: int, now: datetime) -> int:
    warned = 0
    while True:
        with transaction.atomic():
            batch = list(
                _due(days, now)
                .select_for_update(of=("self",), skip_locked=True)
                .order_by("id")
                .values("id", "remaining", "expires_at", "wallet__user_id", "wallet__balance")[
                    :BATCH
                ]
            )
            if not batch:
                return warned
            CreditGrant.objects.filter(pk__in=[row["id"] for row in batch]).update(warned_days=days)
            announce_all([_announcement(row, days, now) for row in batch])
        warned += len(batch)


def _announcement(row: dict, days: int, now: datetime) -> Announcement:
    user_id = row["wallet__user_id"]
    data = {
        "user_id": user_id,
        "grant_id": row["id"],
        "amount": row["remaining"],
        "expires_at": row["expires_at"],
        "days_left": days,
        "balance": row["wallet__balance"],
    }
    return Announcement("credits.expiring", data, user_id=user_id, occurred_at=now)
