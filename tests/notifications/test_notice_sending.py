"""Each notice is mailed once even when two senders reach it together (the send task and
`notices_retry`), a sender that died lets another take over, and `events_prune` never drops an
event whose e-mail is not sent yet."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from events.models import Event
from events.outbox import announce
from notifications.channel import send
from notifications.models import SentNotice
from tests.factories import UserFactory
from tests.threads import at_once

RECEIPT = {
    "purchase_id": 1,
    "package": "Starter pack",
    "credits": 1000,
    "bonus_credits": 0,
    "amount": "10.00",
    "currency": "usd",
    "paid_at": "2030-01-01T00:00:00Z",
}


def waiting_notice(monkeypatch, capture) -> SentNotice:
    """A receipt whose first send failed: a notice with `sent_at` empty, as notices_retry
    finds it."""
    user = UserFactory(email="alice@example.com")

    def refuse(self, messages):
        raise ConnectionRefusedError("the mail server is down")

    with monkeypatch.context() as patch:
        patch.setattr(EmailBackend, "send_messages", refuse)
        with capture(execute=True):
            announce("purchase.paid", data={"user_id": user.pk, **RECEIPT}, user_id=user.pk)
    notice = SentNotice.objects.get()
    assert notice.sent_at is None
    return notice


def retry() -> str:
    out = StringIO()
    call_command("notices_retry", "--older-than-minutes=0", stdout=out)
    return out.getvalue()


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two senders at once need PostgreSQL (DATABASE_URL); SQLite serialises writers",
)
@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_mail_a_notice_once(monkeypatch, django_capture_on_commit_callbacks):
    notice = waiting_notice(monkeypatch, django_capture_on_commit_callbacks)
    # The mail server is slow: whoever reaches it first waits there until the other sender
    # has finished, so without a claim both would send.
    finished = [threading.Event(), threading.Event()]
    me = threading.local()
    sent = []
    real_send = EmailBackend.send_messages

    def slow(self, messages):
        sent.extend(messages)
        if len(sent) == 1:
            finished[1 - me.index].wait(timeout=5)
        return real_send(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", slow)

    def sender(index: int):
        me.index = index
        try:
            if index == 0:
                return retry()
            return send(SentNotice.objects.select_related("event", "user").get(pk=notice.pk))
        finally:
            finished[index].set()

    outcomes = at_once(2, sender)

    assert not any(isinstance(outcome, Exception) for outcome in outcomes), outcomes
    assert [message.to for message in sent] == [["alice@example.com"]]
    notice.refresh_from_db()
    assert (notice.sent_at is not None, notice.claimed_until) == (True, None)


@pytest.mark.django_db
def test_a_sender_that_died_mid_send_is_replaced_once_its_claim_lapses(
    monkeypatch, django_capture_on_commit_callbacks
):
    notice = waiting_notice(monkeypatch, django_capture_on_commit_callbacks)
    # A sender claimed it and was killed before the mail server answered.
    SentNotice.objects.filter(pk=notice.pk).update(
        claimed_until=timezone.now() + timedelta(minutes=5)
    )

    assert retry() == "0 notice(s) sent, 1 still waiting.\n"
    assert mail.outbox == []
    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        assert retry() == "1 notice(s) sent, 0 still waiting.\n"
    assert len(mail.outbox) == 1
    assert retry() == "0 notice(s) sent, 0 still waiting.\n"
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_events_prune_keeps_an_event_whose_email_is_not_sent_yet(
    monkeypatch, django_capture_on_commit_callbacks
):
    with time_machine.travel(timezone.now() - timedelta(days=100)):
        notice = waiting_notice(monkeypatch, django_capture_on_commit_callbacks)
    assert Event.objects.get().dispatched_at is not None

    call_command("events_prune", "--older-than", "90d", stdout=StringIO())
    assert Event.objects.filter(pk=notice.event_id).exists()

    assert retry() == "1 notice(s) sent, 0 still waiting.\n"
    out = StringIO()
    call_command("events_prune", "--older-than", "90d", stdout=out)
    assert out.getvalue().startswith("Deleted 1 dispatched event")
    notice.refresh_from_db()
    assert (notice.event_id, notice.sent_at is not None) == (None, True)  # the history stays
