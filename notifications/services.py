"""Writes: a person's choice of e-mails."""

from django.db import transaction

from notifications.kinds import ALWAYS_SENT, Kind
from notifications.models import NotificationOptOut


@transaction.atomic
def choose(*, user, wanted: set[str]) -> set[str]:
    """Keep only `wanted` kinds on (receipts and security notices stay on whatever is asked);
    the kinds now turned off."""
    off = {kind for kind in Kind if kind not in ALWAYS_SENT and kind not in wanted}
    NotificationOptOut.objects.filter(user=user).exclude(kind__in=off).delete()
    for kind in off:
        NotificationOptOut.objects.get_or_create(user=user, kind=kind)
    return off
