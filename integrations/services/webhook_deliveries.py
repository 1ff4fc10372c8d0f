"""Delivering events to partner apps' endpoints: the outbox's audience, the channel, each
attempt (signed per Standard Webhooks), the retry schedule and the sweep.

1. The audience (registered in IntegrationsConfig.ready): an event is written only when an
   enabled endpoint subscribes to its type and the app may receive it (services.webhooks): one
   indexed EXISTS on the subscriptions, folded into the ledger's posting statement.
2. The channel: for each event, a delivery to every endpoint that wants it at that moment
   (consent and status checked again), attempted by a task once the dispatch commits.
3. An attempt (abandoned instead if the endpoint is disabled, its app no longer approved, or
   the app may no longer receive the event: the user revoked their consent): 2xx is delivered;
   410 disables the endpoint at once; anything else (another status, a timeout, a refused
   address, a redirect) is a failure, tried again after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and
   10 h (±10 %), then abandoned. An endpoint with no success for 5 days since its first failure
   is disabled and its app's owner told.
4. `deliver_due(now=)` attempts every delivery that is due: the worker's sweep and
   `events_retry` call it (it is how retries run where the task backend cannot defer).
"""

import json
import logging
import random
from datetime import datetime, timedelta

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django_tasks import task

from events.models import Event
from events.outbox import Audience
from events.types import PARTNER_TYPES
from integrations.errors import InvalidWebhook
from integrations.models import (
    Consent,
    PartnerApp,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookSubscription,
)
from integrations.services import webhook_http, webhooks
from integrations.services.webhooks import READ_SCOPE, sign

logger = logging.getLogger(__name__)

# Svix's schedule: the waits before the 2nd … 8th attempt.
RETRY_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=10),
)
JITTER = 0.1
FAILING_DAYS_BEFORE_DISABLED = 5
# An attempt claims its delivery for this long, so a second worker does not send it too.
CLAIM = timedelta(seconds=60)
USER_AGENT = "CreditDesk-Webhooks"

Delivery = WebhookDelivery.Status
# Due deliveries one sweep takes; the rest wait for the next sweep.
SWEEP_BATCH = 1000


def audience() -> Audience:
    """Who listens, in SQL over the candidate `event` row (see services.webhooks for why)."""
    subscription = WebhookSubscription._meta.db_table
    consent = Consent._meta.db_table
    quote = connection.ops.quote_name
    # Only table names and a scope's name are written in; the event's values are the outbox's.
    condition = (
        f"EXISTS (SELECT 1 FROM {quote(subscription)} s WHERE s.event_type = event.type "  # noqa: S608
        "AND s.enabled AND (s.app_id = event.app_id OR (event.app_id IS NULL AND EXISTS ("
        f"SELECT 1 FROM {quote(consent)} c WHERE c.app_id = s.app_id "
        "AND c.user_id = event.user_id AND c.revoked_at IS NULL "
        f"AND c.scopes LIKE '%%{READ_SCOPE}%%'))))"
    )
    return Audience("integrations: webhook endpoints", condition, PARTNER_TYPES)


def deliver(event: Event) -> None:
    """The channel: queue a delivery of `event` to every endpoint that wants it now."""
    for endpoint in webhooks.endpoints_for(event).distinct():
        queue(endpoint=endpoint, event=event)


# --- Deliveries made: one per endpoint at dispatch, and staff's or the owner's resends ----------


def queue(*, endpoint: WebhookEndpoint, event: Event) -> WebhookDelivery:
    """A new delivery of `event` to `endpoint`, attempted once the transaction commits."""
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event=event, next_attempt_at=timezone.now()
    )
    enqueue_attempt(delivery)
    return delivery


def resend(*, endpoint: WebhookEndpoint, event: Event) -> WebhookDelivery:
    """Send one event again (a new delivery, the same webhook-id): to an enabled endpoint, and
    only an event the app may still receive."""
    _refuse_unless_sending(endpoint)
    if not Event.objects.filter(pk=event.pk).filter(webhooks.may_receive(endpoint.app_id)).exists():
        raise InvalidWebhook("The app may not receive this event.")
    with transaction.atomic():
        return queue(endpoint=endpoint, event=event)


# Resending everything since a time is bounded, so that a form posted again and again (each
# fresh form may be posted once) cannot queue without end: how far back, how many at once, and
# not while the endpoint still has that many waiting for their first attempt.
RESEND_SINCE_LONGEST = timedelta(days=14)
RESEND_SINCE_MOST = 10_000


def resend_since(*, endpoint: WebhookEndpoint, since: datetime) -> int:
    """A new delivery of every event since `since` the endpoint would have wanted; how many."""
    _refuse_unless_sending(endpoint)
    now = timezone.now()
    if since > now:
        raise InvalidWebhook("Choose a time in the past.", field="since")
    if since < now - RESEND_SINCE_LONGEST:
        days = RESEND_SINCE_LONGEST.days
        raise InvalidWebhook(f"Choose a time in the last {days} days.", field="since")
    waiting = endpoint.deliveries.filter(status=Delivery.PENDING).count()
    if waiting >= RESEND_SINCE_MOST:
        raise InvalidWebhook(
            f"{waiting:,} deliveries to this endpoint are still waiting for their first "
            "attempt: resend once they have gone out."
        )
    with transaction.atomic():
        events = list(webhooks.events_wanted_since(endpoint, since)[: RESEND_SINCE_MOST + 1])
        if len(events) > RESEND_SINCE_MOST:
            raise InvalidWebhook(
                f"More than {RESEND_SINCE_MOST:,} events since then: choose a later time.",
                field="since",
            )
        for event in events:
            queue(endpoint=endpoint, event=event)
    return len(events)


def _refuse_unless_sending(endpoint: WebhookEndpoint) -> None:
    if endpoint.status != WebhookEndpoint.Status.ENABLED:
        raise InvalidWebhook("The endpoint is disabled: enable it first.")
    if endpoint.app.status != PartnerApp.Status.APPROVED:
        raise InvalidWebhook("The app is not approved: its endpoints receive nothing.")


def enqueue_attempt(delivery: WebhookDelivery, *, run_after: datetime | None = None) -> None:
    """Have the worker attempt `delivery` once this transaction commits; a backend that cannot
    defer leaves a later attempt to the sweep (deliver_due)."""
    backend = attempt_task.get_backend()
    if run_after is None:
        transaction.on_commit(lambda: attempt_task.enqueue(delivery.pk))
    elif backend.supports_defer:
        transaction.on_commit(lambda: attempt_task.using(run_after=run_after).enqueue(delivery.pk))


@task()
def attempt_task(delivery_id: int) -> None:
    attempt(delivery_id)


def deliver_due(*, now: datetime | None = None) -> int:
    """The sweep's hook: every delivery whose attempt is due (its task lost or late). With a
    real queue each becomes a task, so the workers share them and the sweep never waits on a
    slow endpoint (a duplicate task finds the attempt claimed and does nothing); run where it
    is enqueued, they are attempted here. How many were queued or attempted."""
    now = now or timezone.now()
    due = WebhookDelivery.objects.filter(
        status__in=[Delivery.PENDING, Delivery.FAILED], next_attempt_at__lte=now
    ).order_by("next_attempt_at", "id")
    ids = list(due.values_list("id", flat=True)[:SWEEP_BATCH])
    if attempt_task.get_backend().supports_defer:
        for delivery_id in ids:
            attempt_task.enqueue(delivery_id)
        return len(ids)
    return sum(attempt(delivery_id, now=now) for delivery_id in ids)


def oldest_overdue(now: datetime | None = None) -> timedelta | None:
    """How long the most overdue attempt has waited past its time (/healthz's backlog: a
    stuck worker shows here as deliveries that are due and not tried)."""
    now = now or timezone.now()
    due = (
        WebhookDelivery.objects.filter(
            status__in=[Delivery.PENDING, Delivery.FAILED], next_attempt_at__lte=now
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    return None if due is None else now - due


def events_still_delivering() -> Q:
    """The events a delivery is still trying to send (events_prune keeps them)."""
    still = WebhookDelivery.objects.filter(
        event=OuterRef("pk"), status__in=[Delivery.PENDING, Delivery.FAILED]
    )
    return Q(Exists(still))


def body_bytes(event: Event) -> bytes:
    """The exact bytes sent, and signed."""
    return json.dumps(event.body(), separators=(",", ":"), cls=DjangoJSONEncoder).encode()


def attempt(delivery_id: int, *, now: datetime | None = None) -> bool:
    """One attempt of a delivery, if it is due and no one else has it; True if it was made."""
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id,
        status__in=[Delivery.PENDING, Delivery.FAILED],
        next_attempt_at__lte=now,
    ).update(next_attempt_at=now + CLAIM)
    if not claimed:
        return False
    delivery = WebhookDelivery.objects.select_related("endpoint__app__user", "event").get(
        pk=delivery_id
    )
    endpoint = delivery.endpoint
    # A suspended or revoked app hears nothing more, not even what was queued before; nor
    # does an app of a user who revoked their consent while the delivery was retrying.
    if (
        endpoint.status != WebhookEndpoint.Status.ENABLED
        or endpoint.app.status != PartnerApp.Status.APPROVED
        or not _may_still_receive(delivery)
    ):
        WebhookDelivery.objects.filter(pk=delivery_id).update(
            status=Delivery.ABANDONED, next_attempt_at=None
        )
        return False
    body = body_bytes(delivery.event)
    timestamp = int(now.timestamp())
    signature = " ".join(
        sign(secret, msg_id=delivery.event.webhook_id, timestamp=timestamp, body=body)
        for secret in webhooks.signing_secrets(endpoint, now=now)
    )
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.event.webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature,
    }
    answer = webhook_http.post(endpoint.url, body=body, headers=headers)
    _record(delivery, answer, now=now)
    return True


def _may_still_receive(delivery: WebhookDelivery) -> bool:
    events = Event.objects.filter(pk=delivery.event_id)
    return events.filter(webhooks.may_receive(delivery.endpoint.app_id)).exists()


def _record(delivery: WebhookDelivery, answer: webhook_http.Answer, *, now: datetime) -> None:
    endpoint = delivery.endpoint
    attempts = delivery.attempts + 1
    code = answer.status_code
    with transaction.atomic():
        WebhookAttempt.objects.create(
            delivery=delivery,
            at=now,
            status_code=code,
            error=answer.error[:500],
            latency_ms=answer.latency_ms,
            response_excerpt=answer.excerpt[:1024],
        )
        fields = {"attempts": attempts, "last_status_code": code}
        fields["last_latency_ms"] = answer.latency_ms
        if code is not None and 200 <= code < 300:
            fields.update(status=Delivery.DELIVERED, delivered_at=now, next_attempt_at=None)
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
        elif code == 410:
            fields.update(status=Delivery.ABANDONED, next_attempt_at=None)
            webhooks.disable(endpoint=endpoint, reason="The endpoint answered 410 Gone.", now=now)
        else:
            if attempts <= len(RETRY_SCHEDULE):
                wait = RETRY_SCHEDULE[attempts - 1] * random.uniform(1 - JITTER, 1 + JITTER)  # noqa: S311
                fields.update(status=Delivery.FAILED, next_attempt_at=now + wait)
            else:
                fields.update(status=Delivery.ABANDONED, next_attempt_at=None)
            _failed(endpoint, now=now)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        if fields.get("status") == Delivery.FAILED and fields["next_attempt_at"]:
            delivery.refresh_from_db()
            enqueue_attempt(delivery, run_after=fields["next_attempt_at"])


def _failed(endpoint: WebhookEndpoint, *, now: datetime) -> None:
    """Count a failure against the endpoint: disabled after 5 days without a success."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(
        failing_since=now
    )
    endpoint.refresh_from_db(fields=["failing_since"])
    if now - endpoint.failing_since >= timedelta(days=FAILING_DAYS_BEFORE_DISABLED):
        reason = f"Every delivery failed for {FAILING_DAYS_BEFORE_DISABLED} days."
        webhooks.disable(endpoint=endpoint, reason=reason, now=now)
