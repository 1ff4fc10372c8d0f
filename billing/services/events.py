"""What every Stripe event handler shares: timestamps, grants that never fail the event, and the
record of events that name nothing of ours (kept for staff)."""

import logging
from datetime import UTC, datetime

from billing.models import UnmatchedStripeEvent
from billing.services.promotions import BILLING
from credits import services as credits
from credits.errors import CreditRefusal

logger = logging.getLogger(__name__)


def timestamp(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def grant_for_event(*, event_id: str, event_type: str, **options) -> None:
    """Grant through the ledger; a refusal (a suspended wallet) is kept for staff, not retried.

    The money was taken, so the event must not fail (Stripe would retry for days); staff see
    why the credits did not arrive and grant them once the wallet is active again.
    """
    try:
        credits.grant(actor=BILLING, **options)
    except CreditRefusal as refusal:
        unmatched(
            event_id=event_id,
            event_type=event_type,
            reason=f"credits not granted ({options['description']}): {refusal.message}",
        )


def unmatched(*, event_id: str, event_type: str, reason: str) -> None:
    """Keep, for staff, an event that names no purchase or user we know: no credits move."""
    logger.warning("stripe event %s (%s) not applied: %s", event_id, event_type, reason)
    UnmatchedStripeEvent.objects.get_or_create(
        stripe_event_id=event_id, defaults={"event_type": event_type, "reason": reason}
    )
