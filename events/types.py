"""Every event CreditDesk announces, in one place: its name, its payload's version and what it
means. docs/events.md and the OpenAPI schema's components describe the same list (a test holds
them to it). A payload's fields change only by adding one; anything else is a new version."""

from dataclasses import dataclass


@dataclass(frozen=True)
class EventType:
    name: str
    version: int
    summary: str


EVENT_TYPES: dict[str, EventType] = {
    event.name: event
    for event in [
        # The ledger (credits.services: every transaction announces itself).
        EventType(
            "credits.granted",
            1,
            "Credits were added to a wallet (purchase, plan, promotion, staff).",
        ),
        EventType("credits.spent", 1, "Credits were spent."),
        EventType("credits.refunded", 1, "A spend or capture was refunded: credits came back."),
        EventType("credits.adjusted", 1, "Staff corrected a wallet's balance."),
        EventType(
            "credits.revoked",
            1,
            "Credits a grant gave were taken back (a refund or chargeback of their purchase).",
        ),
        EventType("credits.expired", 1, "Credits passed their date and left the wallet."),
        EventType(
            "credits.expiring",
            1,
            "Credits will expire soon (7 days and 1 day before; once each per block).",
        ),
        EventType("hold.placed", 1, "Credits were reserved by a hold."),
        EventType("hold.captured", 1, "A hold was captured: the captured credits were spent."),
        EventType("hold.released", 1, "What a hold still reserved was given back."),
        EventType("hold.expired", 1, "A hold passed its expiry: what it reserved was given back."),
        EventType("transfer.sent", 1, "Credits were transferred to another wallet."),
        EventType("transfer.received", 1, "Credits were received from another wallet."),
        EventType(
            "balance.low", 1, "The available balance fell below one of the user's thresholds."
        ),
        EventType(
            "balance.recovered",
            1,
            "The available balance climbed back to a threshold it had fallen below.",
        ),
        EventType("wallet.status_changed", 1, "Staff froze, suspended or reactivated a wallet."),
        # Billing.
        EventType("purchase.paid", 1, "A credit pack was paid for and its credits granted."),
        EventType("purchase.refunded", 1, "A purchase was refunded, fully or in part."),
        EventType(
            "subscription.renewed", 1, "A subscription's period was paid and its credits granted."
        ),
        # Disputes.
        EventType("dispute.opened", 1, "A dispute was opened."),
        EventType("dispute.updated", 1, "A dispute changed status or got a message."),
        EventType("dispute.resolved", 1, "A dispute was resolved (refunded or rejected)."),
        # Jobs.
        EventType("job.opened", 1, "A job was opened and its budget reserved."),
        EventType("job.updated", 1, "A job changed status."),
        EventType("milestone.delivered", 1, "A milestone's work was delivered for review."),
        EventType("milestone.accepted", 1, "A milestone was accepted and its credits captured."),
        EventType("milestone.disputed", 1, "A milestone's delivery was disputed."),
        # Partner apps.
        EventType(
            "webhook.endpoint_disabled",
            1,
            "A partner app's webhook endpoint was disabled by CreditDesk (410 Gone, 5 days of "
            "failures, or staff).",
        ),
    ]
}


# What a partner app's webhook endpoint may subscribe to: the ledger, balances and expiry. Not
# purchases (payment details), wallet status (staff's reasons) nor disputes' and jobs' steps
# (they name staff and carry staff's wording): those are for people.
PARTNER_TYPES: frozenset[str] = frozenset(
    name for name in EVENT_TYPES if name.split(".")[0] in ("credits", "hold", "transfer", "balance")
)


def event_type(name: str) -> EventType:
    """The registered type called `name`; a name nobody registered is a programming error."""
    try:
        return EVENT_TYPES[name]
    except KeyError:
        raise LookupError(f"{name!r} is not an event type (events.types.EVENT_TYPES)") from None
