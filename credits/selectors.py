"""Reads of the ledger that need more than one query or a rule."""

from django.db import models

from credits.models import CreditGrant, Wallet


def grants_in_burn_down_order(wallet: Wallet) -> list[CreditGrant]:
    """The wallet's grants with credits left, in the order a spend consumes them.

    Priority first, then the soonest expiry (never-expiring last), promotional before paid,
    then the oldest.
    """
    return list(
        CreditGrant.objects.filter(wallet=wallet, remaining__gt=0).order_by(
            "priority",
            models.F("expires_at").asc(nulls_last=True),
            "-is_promotional",
            "id",
        )
    )
