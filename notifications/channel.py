"""The e-mail channel: each event a person should hear of becomes one SentNotice per recipient
(unique per event and person: a redispatch never mails twice) and a task that sends it once the
dispatch commits. A send that fails leaves `sent_at` empty and the error beside it, for
`notices_retry`."""

import logging
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string, select_template
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django_tasks import task

from core.links import absolute_url, site_url
from credits.models import CreditTransaction
from events.models import Event
from notifications import selectors
from notifications.kinds import KIND_FOR_EVENT, STEP_TYPES
from notifications.messages import compose, path_of
from notifications.models import SentNotice

logger = logging.getLogger(__name__)
SUBJECT_LENGTH = SentNotice._meta.get_field("subject").max_length
# The one prefix of every e-mail's subject, allauth's and ours.
SUBJECT_PREFIX = settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
# Longer than any send can take (the SMTP timeout), short enough that a sender that died is
# soon replaced by notices_retry.
SEND_CLAIM = timedelta(minutes=5)


def deliver(event: Event) -> None:
    """The channel's entry (events.dispatch): the e-mails of `event`, queued."""
    kind = KIND_FOR_EVENT.get(event.type)
    if kind is None:
        return
    # Also in the staff-grants audience's SQL, which keeps most such events from being written;
    # asked again here because another audience (a webhook endpoint) may have written it.
    if event.type == "credits.granted" and event.data.get("source") != "admin":
        return  # a purchase's or plan's credits: their receipt or renewal notice says it
    if event.type == "credits.refunded" and _told_by_its_dispute(event):
        return
    for message in compose(event):
        if not selectors.wants(user=message.user, kind=kind):
            continue
        notice, created = SentNotice.objects.get_or_create(
            event=event,
            user=message.user,
            defaults={
                "kind": kind,
                "subject": Truncator(message.subject).chars(SUBJECT_LENGTH),
                "to": message.user.email,
            },
        )
        if created:
            transaction.on_commit(partial(send_notice.enqueue, notice_id=notice.pk))


def _told_by_its_dispute(event: Event) -> bool:
    """A refund a dispute decided: the dispute's own notice says so ("resolved: N credits were
    refunded"), so the person does not hear it twice."""
    return CreditTransaction.objects.filter(
        pk=event.data.get("transaction_id"), reference_type__app_label="disputes"
    ).exists()


@task()
def send_notice(*, notice_id: int) -> None:
    send(SentNotice.objects.select_related("event", "user").get(pk=notice_id))


def send(notice: SentNotice) -> bool:
    """Send one notice unless it is sent or another sender holds it; True if it went. The
    claim is its own committed UPDATE, so two senders (the task and notices_retry) never both
    send: the one whose UPDATE matched sends."""
    now = timezone.now()
    claimed = (
        SentNotice.objects.filter(pk=notice.pk, sent_at__isnull=True, event__isnull=False)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + SEND_CLAIM)
    )
    if not claimed:
        return False
    try:
        email(notice).send()
    except Exception as error:  # the mail server's fault: kept visible, retried later
        logger.exception("sending notice %s failed", notice.pk)
        SentNotice.objects.filter(pk=notice.pk).update(
            last_error=f"{error}"[:2000] or "failed", claimed_until=None
        )
        return False
    SentNotice.objects.filter(pk=notice.pk).update(
        sent_at=timezone.now(), last_error="", claimed_until=None
    )
    return True


def email(notice: SentNotice) -> EmailMultiAlternatives:
    """The notice as a multipart e-mail: plain text, and HTML in the site's look."""
    event = notice.event
    path = path_of(event)
    context = {
        "event": event,
        "data": event.data,
        "user": notice.user,
        "subject": notice.subject,
        "link": absolute_url(path),
        "site_url": site_url(),
        "support_email": settings.SUPPORT_EMAIL,
        "notifications_link": absolute_url(reverse("notifications:settings")),
    }
    family = "dispute" if event.type.startswith("dispute.") else "job"
    names = [f"notifications/email/{event.type}", f"notifications/email/{family}"]
    if event.type not in STEP_TYPES:
        names = names[:1]
    text = select_template([f"{name}.txt" for name in names]).render(context)
    html = render_to_string([f"{name}.html" for name in names], context)
    message = EmailMultiAlternatives(
        subject=SUBJECT_PREFIX + notice.subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[notice.to],
    )
    message.attach_alternative(html, "text/html")
    return message
