"""Reads of the ledger that need more than one query or a rule."""

from django.db import models

from credits.models import CreditGrant, Entry, Wallet


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


HISTORY_PAGE_SIZE = 50


def history_page(*, wallet: Wallet, before: int | None = None, size: int = HISTORY_PAGE_SIZE):
    """One page of a wallet's movements, newest first, each leg with its transaction.

    Keyset pagination on the entry id (`before` = the last id of the previous page), so a page
    deep in a long history costs what the first page costs: one index range scan.
    """
    entries = Entry.objects.filter(wallet=wallet).select_related("transaction").order_by("-id")
    if before is not None:
        entries = entries.filter(id__lt=before)
    return list(entries[:size])
