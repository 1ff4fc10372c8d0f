"""Expiry: credits past their grant's date leave the wallet in an explicit transaction."""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from credits.actors import Actor
from credits.models import CreditGrant, CreditTransaction, Wallet
from credits.services.burn_down import is_expired, post_expiry
from credits.services.locks import lock_grant
from credits.services.operation import run_operation


def expire(
    *, grant: CreditGrant, actor: Actor, now: datetime | None = None
) -> CreditTransaction | None:
    """Expire what a grant past its date still has (credits held by open holds are not touched).

    Returns None when there is nothing to expire (not due, already expired, wallet suspended).
    The grant is re-read under its wallet's lock, so a second run, or two runs at once, expire
    each credit once; the key names the grant and the run's clock.
    """
    now = now or timezone.now()

    def perform(posting, claim):
        locked, current = lock_grant(grant.pk)
        if not is_expired(current, now) or current.remaining == 0:
            return None
        if locked.status == Wallet.Status.SUSPENDED:
            return None
        txn = post_expiry(posting, locked, current, primary=True)
        return txn

    return run_operation(
        actor=actor,
        key=f"grant-expiry:{grant.pk}:{now.isoformat()}",
        operation="expire",
        params={"grant": grant.pk, "now": now},
        perform=perform,
        now=now,
    )


@dataclass
class ExpiryRun:
    grants: int
    credits: int


def due_grants(*, now: datetime | None = None):
    """Grants past their date that still have credits, in wallets that are not suspended."""
    now = now or timezone.now()
    return (
        CreditGrant.objects.filter(remaining__gt=0, expires_at__lte=now)
        .exclude(wallet__status=Wallet.Status.SUSPENDED)
        .order_by("expires_at", "id")
    )


def expire_due_grants(*, now: datetime | None = None) -> ExpiryRun:
    """Expire every due grant, one short transaction per grant, beside live traffic."""
    now = now or timezone.now()
    actor = Actor.system("credits_expire")
    run = ExpiryRun(grants=0, credits=0)
    for grant in due_grants(now=now).iterator():
        txn = expire(grant=grant, actor=actor, now=now)
        if txn is not None:
            run.grants += 1
            run.credits += txn.amount
    return run
