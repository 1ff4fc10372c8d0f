"""Reads: whether a person wants a kind of e-mail, what they turned off, what they were sent."""

from django.db.models import Exists, OuterRef, Q

from notifications.kinds import ALWAYS_SENT
from notifications.models import NotificationOptOut, SentNotice


def wants(*, user, kind: str) -> bool:
    """The same rule as the audiences' SQL (notifications.audiences), for one person now."""
    if not (user.is_active and user.email):
        return False
    if kind in ALWAYS_SENT:
        return True
    return not NotificationOptOut.objects.filter(user=user, kind=kind).exists()


def turned_off(*, user) -> set[str]:
    return set(NotificationOptOut.objects.filter(user=user).values_list("kind", flat=True))


def sent_notices(*, user):
    return SentNotice.objects.filter(user=user).order_by("-created_at", "-id")


def events_with_unsent_notices() -> Q:
    """The events an e-mail not yet sent still needs (events_prune keeps them: a notice whose
    event is gone can never be sent)."""
    return Q(Exists(SentNotice.objects.filter(event=OuterRef("pk"), sent_at__isnull=True)))
