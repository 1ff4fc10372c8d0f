"""The spending cap: what an app may still charge a user in the rolling 30 days.

What counts: the app's spends and captures for the user in the last 30 days, and what its
open holds on the user's wallet still reserve (a hold uses the cap when placed: captured later,
it counts once, as its capture; released, its credits come back to the cap). Refunds do not give
room back: a cap bounds what an app may take, and an app that takes and gives back in a loop
would otherwise have none.

`charge_limit(app, user)` is the Actor's `charge_limit`: the ledger calls it with the wallet
locked, so concurrent charges for one user are counted one after another.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from credits.models import CreditTransaction, Hold, Wallet
from integrations.errors import AppNotActive, CapExceeded, ConsentRequired
from integrations.models import Consent, PartnerApp

WINDOW = timedelta(days=30)
CHARGE_KINDS = (CreditTransaction.Kind.SPEND, CreditTransaction.Kind.CAPTURE)


@dataclass(frozen=True)
class CapUse:
    cap: int
    used: int

    @property
    def left(self) -> int:
        return max(self.cap - self.used, 0)


UNCAPTURED = F("amount") - F("captured_amount")


def _charges(app_id: int, since: datetime):
    """The app's spends and captures since `since`."""
    return CreditTransaction.objects.filter(
        actor_app_id=app_id, kind__in=CHARGE_KINDS, created_at__gt=since
    )


def _open_holds(app_id: int):
    """The holds the app placed that are still open."""
    return Hold.objects.filter(
        status=Hold.Status.OPEN,
        transactions__kind=CreditTransaction.Kind.HOLD,
        transactions__actor_app_id=app_id,
    )


def _used(app_id: int, wallet_id: int, since: datetime):
    """What the app charged the wallet since `since` and still holds of it, as one expression."""
    charged = (
        _charges(app_id, since)
        .filter(wallet_id=wallet_id)
        .values("wallet_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    held = (
        _open_holds(app_id)
        .filter(wallet_id=wallet_id)
        .values("wallet_id")
        .annotate(total=Sum(UNCAPTURED))
        .values("total")
    )
    return Coalesce(Subquery(charged), 0) + Coalesce(Subquery(held), 0)


def used(*, app_id: int, wallet_id: int, now: datetime | None = None) -> int:
    """Credits the app took or holds from the wallet in the window ending `now`."""
    since = (now or timezone.now()) - WINDOW
    found = Wallet.objects.filter(pk=wallet_id).annotate(used=_used(app_id, wallet_id, since))
    return found.values_list("used", flat=True).first() or 0


def used_by_wallet(*, app_id: int, wallet_ids, now: datetime | None = None) -> dict[int, int]:
    """`used` for many wallets at once (a page of the app's consents): two grouped queries."""
    since = (now or timezone.now()) - WINDOW
    totals = dict.fromkeys(wallet_ids, 0)
    for rows in (
        _charges(app_id, since)
        .filter(wallet_id__in=totals)
        .values("wallet_id")
        .annotate(total=Sum("amount")),
        _open_holds(app_id)
        .filter(wallet_id__in=totals)
        .values("wallet_id")
        .annotate(total=Sum(UNCAPTURED)),
    ):
        for row in rows:
            totals[row["wallet_id"]] += row["total"] or 0
    return totals


def cap_use(consent: Consent, now: datetime | None = None) -> CapUse:
    return CapUse(
        cap=consent.cap,
        used=used(app_id=consent.app_id, wallet_id=consent.user.wallet.pk, now=now),
    )


def charge_limit(app_id: int, user_id: int):
    """The Actor's charge limit for `app_id` acting for `user_id` (see the module's docstring)."""

    def check(wallet, amount: int, now: datetime) -> None:
        # Read under the wallet's lock, and the consent's own: a revocation committed before
        # this line stops this charge; one after it waits for this charge to commit.
        # One statement: the consent (locked), its app's status and what the app used.
        consent = (
            Consent.objects.select_for_update(of=("self",))
            .select_related("app")
            .filter(app_id=app_id, user_id=user_id, revoked_at__isnull=True)
            .annotate(used=_used(app_id, wallet.pk, now - WINDOW))
            .first()
        )
        if consent is None:
            raise ConsentRequired("You no longer allow this app to act for you.")
        if consent.app.status != PartnerApp.Status.APPROVED:
            raise AppNotActive(consent.app)
        left = max(consent.cap - consent.used, 0)
        if amount > left:
            raise CapExceeded(
                f"This would pass the spending cap of {consent.cap} credits per 30 days "
                f"the user agreed with {consent.app.name}: {left} credits are left."
            )

    return check
