"""Setting a wallet's low-balance thresholds (the rules: credits.thresholds)."""

from django.db import transaction

from credits import thresholds as rules
from credits.actors import Actor
from credits.errors import InvalidRequest
from credits.models import Wallet
from credits.services.locks import lock_wallets


def check_thresholds(values) -> list[int]:
    """The thresholds as distinct whole numbers within the limits, highest first, or
    InvalidRequest saying what is wrong."""
    values = list(values)
    if len(values) > rules.MAX_THRESHOLDS:
        raise InvalidRequest(f"At most {rules.MAX_THRESHOLDS} thresholds.")
    checked = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidRequest("A threshold is a whole number of credits.")
        if not rules.MIN_THRESHOLD <= value <= rules.MAX_THRESHOLD:
            raise InvalidRequest(
                f"A threshold is from {rules.MIN_THRESHOLD:,} to {rules.MAX_THRESHOLD:,} credits."
            )
        if value in checked:
            raise InvalidRequest(f"The threshold {value:,} is given twice.")
        checked.append(value)
    return sorted(checked, reverse=True)


@transaction.atomic
def set_thresholds(*, wallet: Wallet, thresholds, actor: Actor) -> list[int]:
    """Replace the wallet's thresholds; the ones it keeps keep their state (and their quiet
    time), a new one starts where the balance stands now and announces nothing. An empty list
    removes them all: the wallet then costs its spends nothing. Returns them, highest first.

    The wallet is locked, so a spend at the same moment is judged against the old thresholds or
    the new, never against half of them.
    """
    wanted = check_thresholds(thresholds)
    if actor.kind == "user" and actor.user_id != wallet.user_id:
        raise InvalidRequest("Only the wallet's owner sets its thresholds.")
    (locked,) = lock_wallets(wallet.pk)
    kept = {alert["threshold"]: alert for alert in locked.alerts or []}
    alerts = [kept.get(value) or rules.fresh(value, locked.available) for value in wanted]
    Wallet.objects.filter(pk=locked.pk).update(alerts=alerts or None)
    wallet.alerts = alerts or None
    return wanted
