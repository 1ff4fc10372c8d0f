"""What each event's e-mail says, to whom, and which page it links to.

Subjects are here; bodies are templates, notifications/email/<type>.txt and .html (a dispute's
or job's step falls back to dispute.txt / job.txt: the step's words travel in its data, written
by the service that took it). Every link is absolute (core.links), to a page the recipient can
open.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.urls import reverse

from events.models import Event
from notifications.kinds import STEP_TYPES

WALLET_STATUS_WORDS = {
    "active": "reactivated",
    "frozen": "frozen",
    "suspended": "suspended",
}


@dataclass(frozen=True)
class Message:
    user: object
    subject: str


def _figure(value) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def subject_of(event: Event) -> str:
    data = event.data
    amount = _figure(data.get("amount"))
    subjects = {
        "credits.granted": lambda: f"{amount} credits were added to your wallet",
        "credits.refunded": lambda: f"{amount} credits were refunded to your wallet",
        "transfer.received": lambda: f"You received {amount} credits",
        "credits.expiring": lambda: (
            f"{amount} credits expire in {data.get('days_left')} "
            f"day{'' if data.get('days_left') == 1 else 's'}"
        ),
        "balance.low": lambda: f"Your balance is below {_figure(data.get('threshold'))} credits",
        "balance.recovered": lambda: (
            f"Your balance is back above {_figure(data.get('threshold'))} credits"
        ),
        "wallet.status_changed": lambda: (
            f"Your wallet was {WALLET_STATUS_WORDS.get(data.get('status'), data.get('status'))}"
        ),
        "purchase.paid": lambda: f"Receipt: {data.get('package')}",
        "purchase.refunded": lambda: f"Refund: {data.get('package')}",
        "subscription.renewed": lambda: f"Your {data.get('plan')} plan was renewed",
        "webhook.endpoint_disabled": lambda: f"Webhook endpoint disabled: {data.get('app_name')}",
    }
    if event.type in STEP_TYPES:
        return data["subject"]
    return subjects[event.type]()


def path_of(event: Event) -> str:
    """The page the e-mail links to (a path: it is made absolute on SITE_URL)."""
    data = event.data
    if event.type in STEP_TYPES:
        return data["path"]
    if event.type in ("credits.granted", "credits.refunded", "transfer.received"):
        return reverse("credits:transaction", args=[data["transaction_id"]])
    if event.type == "credits.expiring":
        return reverse("credits:blocks")
    if event.type in ("purchase.paid", "purchase.refunded"):
        return reverse("billing:purchases")
    if event.type == "subscription.renewed":
        return reverse("billing:subscription")
    if event.type == "webhook.endpoint_disabled":
        return reverse("developers:webhook", args=[data["app_id"], data["endpoint_id"]])
    return reverse("credits:dashboard")


def compose(event: Event) -> list[Message]:
    """The e-mails `event` makes: one per recipient (whether each wants it is the channel's)."""
    users = get_user_model()._default_manager
    if event.type in STEP_TYPES and event.data.get("notify") == "team":
        recipients = list(users.filter(pk__in=event.data.get("recipient_ids") or []))
    elif event.user_id is not None:
        recipients = list(users.filter(pk=event.user_id))
    else:
        recipients = []
    subject = subject_of(event)
    return [Message(user, subject) for user in recipients]
