"""A partner app's webhook endpoints: registering one, its secret (shown once, rotated with a
24-hour overlap), disabling, enabling and deleting it, and which events it may receive.

Which events an app receives (docs/partners.md, "Webhooks"): those of the types its endpoint
subscribes to that are about its own doing (the event's `app_id` is the app: its holds and
charges), or that no app did (a purchase, a transfer, a staff grant: `app_id` empty) about a user
whose live consent to the app includes `credits:read`. Never another app's charges or holds,
never a user who has not consented. The outbox's audience (webhook_deliveries) says the same in
SQL, the channel and a resend say it again with the ORM at that moment.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from events.models import Event
from events.outbox import announce
from events.types import EVENT_TYPES, PARTNER_TYPES
from integrations.errors import InvalidWebhook
from integrations.models import (
    Consent,
    PartnerApp,
    WebhookEndpoint,
    WebhookSubscription,
)
from integrations.services import webhook_http

SECRET_PREFIX = "whsec_"  # noqa: S105  (a prefix, not a secret)
SECRET_BYTES = 32
ROTATION_OVERLAP = timedelta(hours=24)
# The scope that lets an app read a user's credits: needed to hear about what no app did.
READ_SCOPE = "credits:read"

Status = WebhookEndpoint.Status


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


@dataclass(frozen=True)
class NewSecret:
    endpoint: WebhookEndpoint
    secret: str


def _clean(*, url: str, event_types) -> list[str]:
    try:
        webhook_http.check_url(url)
    except webhook_http.Refused as refusal:
        raise InvalidWebhook(str(refusal), field="url") from None
    names = sorted(set(event_types))
    if not names:
        raise InvalidWebhook("Choose at least one event type.", field="event_types")
    unknown = [name for name in names if name not in EVENT_TYPES]
    if unknown:
        raise InvalidWebhook(f"Unknown event types: {', '.join(unknown)}.", field="event_types")
    for_people = [name for name in names if name not in PARTNER_TYPES]
    if for_people:
        raise InvalidWebhook(
            f"Partner apps cannot subscribe to {', '.join(for_people)}: those events are "
            "for people (docs/events.md).",
            field="event_types",
        )
    return names


def create(*, app: PartnerApp, url: str, event_types, description: str = "") -> NewSecret:
    """Register an endpoint of `app`; its secret is in the answer, shown once."""
    names = _clean(url=url, event_types=event_types)
    if app.status == PartnerApp.Status.REVOKED:
        raise InvalidWebhook("The app is revoked: it can have no webhook endpoints.")
    secret = new_secret()
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            app=app, url=url, description=description, secret=secret
        )
        _subscribe(endpoint, names)
    return NewSecret(endpoint, secret)


def update(*, endpoint: WebhookEndpoint, url: str, event_types, description: str) -> None:
    names = _clean(url=url, event_types=event_types)
    with transaction.atomic():
        endpoint.url, endpoint.description = url, description
        endpoint.updated_at = timezone.now()
        endpoint.save(update_fields=["url", "description", "updated_at"])
        endpoint.subscriptions.exclude(event_type__in=names).delete()
        _subscribe(endpoint, names)


def _subscribe(endpoint: WebhookEndpoint, names: list[str]) -> None:
    have = set(endpoint.subscriptions.values_list("event_type", flat=True))
    WebhookSubscription.objects.bulk_create(
        WebhookSubscription(
            endpoint=endpoint,
            event_type=name,
            app_id=endpoint.app_id,
            enabled=endpoint.status == Status.ENABLED,
        )
        for name in names
        if name not in have
    )


def rotate_secret(*, endpoint: WebhookEndpoint) -> NewSecret:
    """A new secret, shown once; the current one keeps signing beside it for 24 hours (a
    secret rotated out earlier stops now)."""
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        secret = new_secret()
        now = timezone.now()
        locked.previous_secret = locked.secret
        locked.previous_secret_expires_at = now + ROTATION_OVERLAP
        locked.secret = secret
        locked.updated_at = now
        locked.save(
            update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
        )
    return NewSecret(locked, secret)


def sign(secret: str, *, msg_id: str, timestamp: int | str, body: bytes) -> str:
    """Standard Webhooks' signature: `v1,` and the base64 HMAC-SHA256 of id.timestamp.body,
    keyed with the secret's bytes (base64 after `whsec_`)."""
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def signing_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    """The secrets a delivery is signed with now: the current one, and the one it replaced
    while the rotation's overlap lasts."""
    found = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and now < expires:
        found.append(endpoint.previous_secret)
    return found


def disable(
    *, endpoint: WebhookEndpoint, reason: str, now: datetime | None = None, by_owner: bool = False
) -> bool:
    """Stop sending to the endpoint; False if it already was disabled. Unless the owner did it,
    the owner hears of it (webhook.endpoint_disabled: an e-mail always sent)."""
    now = now or timezone.now()
    with transaction.atomic():
        changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, status=Status.ENABLED).update(
            status=Status.DISABLED, disabled_reason=reason[:200], disabled_at=now, updated_at=now
        )
        endpoint.subscriptions.update(enabled=False)
        endpoint.refresh_from_db()
        if changed and not by_owner:
            _tell_owner(endpoint)
    return bool(changed)


def _tell_owner(endpoint: WebhookEndpoint) -> None:
    app = endpoint.app
    data = {
        "app_id": app.pk,
        "app_name": app.name,
        "endpoint_id": endpoint.pk,
        "url": endpoint.url,
        "reason": endpoint.disabled_reason,
        "disabled_at": endpoint.disabled_at,
    }
    announce("webhook.endpoint_disabled", data=data, user_id=app.user_id, app_id=app.pk)


def enable(*, endpoint: WebhookEndpoint) -> None:
    """Send to the endpoint again, starting with the next event (its failures are forgotten)."""
    with transaction.atomic():
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
            status=Status.ENABLED,
            disabled_reason="",
            disabled_at=None,
            failing_since=None,
            updated_at=timezone.now(),
        )
        endpoint.subscriptions.update(enabled=True)
    endpoint.refresh_from_db()


def delete(*, endpoint: WebhookEndpoint) -> None:
    """The endpoint, its subscriptions and its delivery log go."""
    endpoint.delete()


def may_receive(app_id) -> Q:
    """Events the app may receive (as a filter on Event): its own doing, or what no app did
    about a user whose live consent to it lets it read credits."""
    consented = Consent.objects.filter(
        app_id=app_id,
        user_id=OuterRef("user_id"),
        revoked_at__isnull=True,
        # Scopes are space-separated names; no other scope contains this one's name.
        scopes__contains=READ_SCOPE,
    )
    return Q(app_id=app_id) | (Q(app_id__isnull=True, user_id__isnull=False) & Q(Exists(consented)))


def endpoints_for(event: Event) -> QuerySet[WebhookEndpoint]:
    """The enabled endpoints of approved apps that want `event` now."""
    wanting = WebhookEndpoint.objects.filter(
        status=Status.ENABLED,
        app__status=PartnerApp.Status.APPROVED,
        subscriptions__event_type=event.type,
    )
    if event.app_id is not None:
        return wanting.filter(app_id=event.app_id)
    if event.user_id is None:
        return wanting.none()
    consented = Consent.objects.filter(
        app_id=OuterRef("app_id"),
        user_id=event.user_id,
        revoked_at__isnull=True,
        scopes__contains=READ_SCOPE,
    )
    return wanting.filter(Exists(consented))


def events_wanted_since(endpoint: WebhookEndpoint, since: datetime) -> QuerySet[Event]:
    """The events since `since` the endpoint would have received, oldest first."""
    return (
        Event.objects.filter(
            occurred_at__gte=since, type__in=endpoint.subscriptions.values("event_type")
        )
        .filter(may_receive(endpoint.app_id))
        .order_by("occurred_at", "id")
    )
