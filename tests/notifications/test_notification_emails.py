"""E-mails to people: each event a person should hear of is mailed once (text and HTML, an
absolute link to a page that opens), only when they want that kind; receipts and security
notices always; spends and holds never."""

import re
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test import Client
from django.urls import resolve

from credits import services
from credits.models import CreditGrant
from disputes import services as disputes
from events.dispatch import dispatch_pending
from events.models import Event
from events.outbox import announce
from integrations.models import PartnerApp
from integrations.services import webhooks
from notifications import services as notifications
from notifications.kinds import Kind
from notifications.models import NotificationOptOut, SentNotice
from tests.credits.conftest import ACTOR, fund, key
from tests.factories import StaffFactory, UserFactory
from tests.integrations.partner_calls import approved_app
from tests.jobs.conftest import open_job

pytestmark = pytest.mark.django_db

LINK = re.compile(r"https?://[^\s<>\"')]+")


@pytest.fixture
def user(db):
    return UserFactory(email="alice@example.com")


def staff_grant(user):
    services.grant(
        wallet=user.wallet,
        amount=250,
        source=CreditGrant.Source.ADMIN,
        actor=ACTOR,
        idempotency_key=key(),
        description="Sorry for the outage",
    )


def transfer_in(user):
    sender = UserFactory().wallet
    fund(sender, 100)
    services.transfer(
        sender=sender, receiver=user.wallet, amount=40, actor=ACTOR, idempotency_key=key()
    )


def refund(user):
    fund(user.wallet, 100)
    spend = services.spend(wallet=user.wallet, amount=30, actor=ACTOR, idempotency_key=key())
    services.refund(transaction=spend, actor=ACTOR, idempotency_key=key())


def endpoint_disabled(user):
    app = approved_app("Translator")
    PartnerApp.objects.filter(pk=app.pk).update(user=user)  # the user owns the app
    endpoint = webhooks.create(app=app, url="https://t.example.com/h", event_types=["hold.placed"])
    webhooks.disable(endpoint=endpoint.endpoint, reason="The endpoint answered 410 Gone.")


def announced(type, data):
    def build(user):
        announce(type, data={"user_id": user.pk, **data}, user_id=user.pk)

    return build


EVENTS = {
    "credits.granted": (staff_grant, "250 credits were added to your wallet"),
    "transfer.received": (transfer_in, "You received 40 credits"),
    "credits.refunded": (refund, "30 credits were refunded to your wallet"),
    "balance.low": (
        announced("balance.low", {"threshold": 100, "balance": 80, "available": 60}),
        "Your balance is below 100 credits",
    ),
    "balance.recovered": (
        announced("balance.recovered", {"threshold": 100, "balance": 500, "available": 500}),
        "Your balance is back above 100 credits",
    ),
    "credits.expiring": (
        announced(
            "credits.expiring",
            {
                "grant_id": 1,
                "amount": 1200,
                "expires_at": "2030-01-08T00:00:00Z",
                "days_left": 7,
                "balance": 1500,
            },
        ),
        "1,200 credits expire in 7 days",
    ),
    "wallet.status_changed": (
        announced(
            "wallet.status_changed",
            {
                "status": "frozen",
                "previous_status": "active",
                "reason": "Unusual activity",
                "changed_at": "2030-01-01T00:00:00Z",
            },
        ),
        "Your wallet was frozen",
    ),
    "webhook.endpoint_disabled": (endpoint_disabled, "Webhook endpoint disabled: Translator"),
    "purchase.paid": (
        announced(
            "purchase.paid",
            {
                "purchase_id": 1,
                "package": "Starter pack",
                "credits": 1000,
                "bonus_credits": 100,
                "amount": "10.00",
                "currency": "usd",
                "paid_at": "2030-01-01T00:00:00Z",
            },
        ),
        "Receipt: Starter pack",
    ),
    "purchase.refunded": (
        announced(
            "purchase.refunded",
            {
                "purchase_id": 1,
                "package": "Starter pack",
                "refunded_amount": "10.00",
                "currency": "usd",
                "credits_taken_back": 1000,
                "refunded_at": "2030-01-02T00:00:00Z",
            },
        ),
        "Refund: Starter pack",
    ),
    "subscription.renewed": (
        announced(
            "subscription.renewed",
            {
                "subscription_id": 1,
                "plan": "Pro",
                "credits": 5000,
                "amount": "49.00",
                "currency": "eur",
                "period_start": "2030-01-01T00:00:00Z",
                "period_end": "2030-02-01T00:00:00Z",
            },
        ),
        "Your Pro plan was renewed",
    ),
}


def mails_to(user):
    return [message for message in mail.outbox if message.to == [user.email]]


def the_link(message) -> str:
    """The e-mail's link to its page (the last but one: the footer's is the settings page)."""
    links = LINK.findall(message.body)
    assert all(link.startswith(settings.SITE_URL + "/") for link in links), links
    return links[-2]


@pytest.mark.parametrize("type", EVENTS)
def test_each_email_is_sent_once_with_text_html_and_a_link_that_opens(
    type, user, django_capture_on_commit_callbacks
):
    build, subject = EVENTS[type]
    with django_capture_on_commit_callbacks(execute=True):
        build(user)
    event = Event.objects.get(type=type, user=user)
    # A second dispatch (an operator's events_retry, a worker restarted) mails nobody again.
    Event.objects.filter(pk=event.pk).update(dispatched_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_pending()

    [message] = mails_to(user)
    assert message.subject == f"[CreditDesk] {subject}"
    assert subject in message.body
    [(html, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    assert '<html lang="en">' in html
    assert html.count("<h1") == 1
    assert "CreditDesk" in html
    assert subject in html
    link = the_link(message)
    assert f'href="{link}"' in html
    path = urlsplit(link).path
    resolve(path)  # one of our pages
    visitor = Client()
    visitor.force_login(user)
    assert visitor.get(path, follow=True).status_code == 200
    notice = SentNotice.objects.get(event=event, user=user)
    assert notice.sent_at is not None
    assert notice.subject == subject


def test_the_settings_link_in_the_footer_opens(user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        staff_grant(user)
    link = LINK.findall(mails_to(user)[0].body)[-1]
    visitor = Client()
    visitor.force_login(user)
    answer = visitor.get(urlsplit(link).path, follow=True)
    assert answer.status_code == 200
    assert "E-mail notifications" in answer.content.decode()


def test_spends_holds_and_purchases_grants_write_no_event_for_email(
    user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        fund(user.wallet, 100)  # a purchase's credits: its receipt comes from purchase.paid
        services.spend(wallet=user.wallet, amount=10, actor=ACTOR, idempotency_key=key())
        held = services.hold(wallet=user.wallet, amount=10, actor=ACTOR, idempotency_key=key())
        services.capture(hold=held.hold, actor=ACTOR, idempotency_key=key())
    assert Event.objects.count() == 0
    assert mail.outbox == []


def test_turning_a_kind_off_stops_it_and_writes_no_event(user, django_capture_on_commit_callbacks):
    notifications.choose(user=user, wanted={Kind.CREDITS_RECEIVED})
    with django_capture_on_commit_callbacks(execute=True):
        EVENTS["balance.low"][0](user)
        EVENTS["credits.expiring"][0](user)
        staff_grant(user)
    assert list(Event.objects.values_list("type", flat=True)) == ["credits.granted"]
    assert [m.subject for m in mail.outbox] == [
        "[CreditDesk] 250 credits were added to your wallet"
    ]


def test_a_kind_turned_off_after_the_event_was_written_is_not_sent(
    user, django_capture_on_commit_callbacks
):
    EVENTS["balance.low"][0](user)  # written; the dispatch waits (no commit in this test yet)
    NotificationOptOut.objects.create(user=user, kind=Kind.LOW_BALANCE)
    with django_capture_on_commit_callbacks(execute=True):
        dispatch_pending()
    assert mail.outbox == []
    assert not SentNotice.objects.exists()


def test_receipts_and_security_notices_cannot_be_turned_off(
    user, django_capture_on_commit_callbacks
):
    off = notifications.choose(user=user, wanted=set())
    assert Kind.PURCHASE_RECEIPTS not in off
    assert Kind.WALLET_STATUS not in off
    with django_capture_on_commit_callbacks(execute=True):
        EVENTS["purchase.paid"][0](user)
        EVENTS["wallet.status_changed"][0](user)
        staff_grant(user)
    assert sorted(m.subject for m in mail.outbox) == [
        "[CreditDesk] Receipt: Starter pack",
        "[CreditDesk] Your wallet was frozen",
    ]


def test_an_inactive_user_or_one_without_an_address_gets_nothing(
    django_capture_on_commit_callbacks,
):
    gone = UserFactory(is_active=False)
    with django_capture_on_commit_callbacks(execute=True):
        EVENTS["purchase.paid"][0](gone)
    assert Event.objects.count() == 0
    assert mail.outbox == []


def test_a_rolled_back_change_sends_nothing(user, django_capture_on_commit_callbacks):
    @transaction.atomic
    def grant_then_fail():
        staff_grant(user)
        EVENTS["purchase.paid"][0](user)
        raise RuntimeError("the caller fails after the grant")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        grant_then_fail()
    assert Event.objects.count() == 0
    assert mail.outbox == []
    assert not SentNotice.objects.exists()


def test_a_failed_send_stays_visible_and_is_sent_by_notices_retry(
    user, django_capture_on_commit_callbacks, monkeypatch
):
    def refuse(self, messages):
        raise ConnectionRefusedError("the mail server is down")

    monkeypatch.setattr(EmailBackend, "send_messages", refuse)
    with django_capture_on_commit_callbacks(execute=True):
        EVENTS["purchase.paid"][0](user)
    notice = SentNotice.objects.get()
    assert notice.sent_at is None
    assert "the mail server is down" in notice.last_error
    visitor = Client()
    visitor.force_login(user)
    page = visitor.get("/accounts/notifications/", follow=True).content.decode()
    assert "Not sent yet: we will try again" in page

    monkeypatch.undo()
    out = StringIO()
    call_command("notices_retry", "--older-than-minutes=0", stdout=out)
    assert "1 notice(s) sent, 0 still waiting." in out.getvalue()
    notice.refresh_from_db()
    assert notice.sent_at is not None
    assert notice.last_error == ""
    assert [m.subject for m in mail.outbox] == ["[CreditDesk] Receipt: Starter pack"]
    call_command("notices_retry", "--older-than-minutes=0", stdout=StringIO())
    assert len(mail.outbox) == 1  # sent once


def test_notices_retry_refuses_a_negative_age():
    with pytest.raises(Exception, match="must be 0 or more"):
        call_command("notices_retry", "--older-than-minutes=-1")


@pytest.mark.parametrize("minutes", ["99999999999", "9999999999999999999999"])
def test_notices_retry_refuses_an_age_no_date_can_reach(minutes):
    # Once an OverflowError's traceback; now one line, like any other bad input.
    with pytest.raises(CommandError, match="too large"):
        call_command("notices_retry", f"--older-than-minutes={minutes}")


def test_a_dispute_step_mails_the_user_an_event_with_its_payload(
    user, django_capture_on_commit_callbacks
):
    fund(user.wallet, 100)
    charge = services.spend(wallet=user.wallet, amount=80, actor=ACTOR, idempotency_key=key())
    with django_capture_on_commit_callbacks(execute=True):
        dispute = disputes.open_dispute(
            user=user, txn=charge, reason="not_delivered", description="Never came.", amount=50
        )
    event = Event.objects.get(type="dispute.opened")
    assert event.user_id == user.pk
    assert event.data["dispute_id"] == dispute.pk
    assert event.data["status"] == "open"
    assert event.data["amount"] == 50
    assert event.data["notify"] == "user"
    assert event.data["path"] == f"/disputes/{dispute.pk}/"
    [message] = mails_to(user)
    assert message.subject == f"[CreditDesk] Dispute #{dispute.pk}: We received your dispute"
    assert f"{settings.SITE_URL}/disputes/{dispute.pk}/" in message.body
    assert message.alternatives


def test_a_dispute_turned_off_is_not_mailed(user, django_capture_on_commit_callbacks):
    NotificationOptOut.objects.create(user=user, kind=Kind.DISPUTES)
    fund(user.wallet, 100)
    charge = services.spend(wallet=user.wallet, amount=80, actor=ACTOR, idempotency_key=key())
    with django_capture_on_commit_callbacks(execute=True):
        disputes.open_dispute(
            user=user, txn=charge, reason="not_delivered", description="Never came.", amount=50
        )
    assert not Event.objects.filter(type="dispute.opened").exists()
    assert mail.outbox == []


def test_a_job_submitted_mails_the_team_but_not_who_turned_jobs_off(
    django_capture_on_commit_callbacks,
):
    deliverer = StaffFactory(email="deliverer@example.com", permissions=["jobs.deliver"])
    busy = StaffFactory(email="busy@example.com", permissions=["jobs.deliver"])
    NotificationOptOut.objects.create(user=busy, kind=Kind.JOBS)
    client = UserFactory(email="client@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        job = open_job(client, 300)
    event = Event.objects.get(type="job.opened")
    assert event.user_id == client.pk
    assert event.data["job_id"] == job.pk
    assert event.data["notify"] == "team"
    assert deliverer.pk in event.data["recipient_ids"]
    assert event.data["path"] == f"/jobs/{job.pk}/"
    subjects = {message.to[0]: message.subject for message in mail.outbox}
    assert subjects["deliverer@example.com"] == (
        f"[CreditDesk] Job #{job.pk} ({job.title}): a new job to deliver"
    )
    assert "busy@example.com" not in subjects
    assert "client@example.com" not in subjects
    assert SentNotice.objects.filter(event=event).count() == len(mail.outbox)


def test_receipts_show_money_in_its_currency_and_credits_with_separators(
    user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        EVENTS["purchase.paid"][0](user)
        EVENTS["subscription.renewed"][0](user)
    receipt, renewal = mails_to(user)
    assert "Paid: $10.00 on 2030-01-01" in receipt.body
    assert "Credits: 1,000 (+ 100 bonus)" in receipt.body
    assert "Receipt reference: Purchase #1" in receipt.body
    assert "$10.00" in receipt.alternatives[0][0]
    assert "€49.00 paid, 5,000 credits added" in renewal.body
