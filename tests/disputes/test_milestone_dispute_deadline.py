"""`manage.py disputes_deadlines`: a milestone dispute waiting on the client's answer has a
deadline (DISPUTES_AWAITING_USER_DAYS) and a default outcome, so silence never freezes the
milestone's credits: reminders 72 h and 24 h before, then the milestone accepted in full."""

from datetime import datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from credits.models import CreditTransaction
from disputes import services
from disputes.models import Dispute
from events.dispatch import dispatch_pending
from jobs.models import Activity, Milestone
from tests.credits.conftest import state
from tests.factories import StaffFactory, UserFactory
from tests.jobs.conftest import delivered, open_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]
Status = Dispute.Status


@pytest.fixture
def client_user(db):
    return UserFactory(email="client@example.com")


@pytest.fixture
def staff(db):
    return StaffFactory(email="queue@example.com")


@pytest.fixture
def asked_at():
    return timezone.now().replace(microsecond=0)


@pytest.fixture
def dispute(client_user, staff, asked_at) -> Dispute:
    """A dispute on the first of two milestones (600 + 400 reserved); staff asked the client a
    question at `asked_at`."""
    deliverer = StaffFactory(is_superuser=False, permissions=["jobs.deliver"])
    milestone = delivered(open_job(client_user, 600, 400), deliverer)
    with time_machine.travel(asked_at, tick=False):
        dispute = services.open_milestone_dispute(
            user=client_user,
            milestone=milestone,
            reason="poor_quality",
            description="Half the pages are missing.",
            amount=600,
        )
        dispute = services.request_information(
            dispute=dispute, staff=staff, question="Which pages are missing?"
        )
    # The setup's events, as if it had committed before: their e-mails are not this test's.
    dispatch_pending()
    return dispute


@pytest.fixture
def run(django_capture_on_commit_callbacks, mailoutbox):
    """Run the command at `at`, e-mails sent as after commit; what it printed."""

    def run_at(at: datetime) -> str:
        out = StringIO()
        with (
            time_machine.travel(at, tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            call_command("disputes_deadlines", stdout=out, stderr=StringIO())
        return out.getvalue()

    return run_at


def deadline(asked_at, settings) -> datetime:
    return asked_at + timedelta(days=settings.DISPUTES_AWAITING_USER_DAYS)


def captures(dispute: Dispute) -> int:
    return CreditTransaction.objects.filter(kind="capture", hold=dispute.milestone.hold_id).count()


def test_an_unanswered_dispute_is_closed_and_the_milestone_paid_once(
    client_user, dispute, asked_at, run, settings, mailoutbox
):
    assert state(client_user.wallet) == (1000, 1000, 0)
    out = run(deadline(asked_at, settings) + timedelta(minutes=1))

    assert "Closed 1 unanswered disputes" in out
    dispute.refresh_from_db()
    assert dispute.status == Status.REJECTED
    assert dispute.rejection_reason == "The client did not answer within 7 days."
    assert dispute.transaction.kind == "capture"
    assert dispute.transaction.amount == 600
    assert dispute.milestone.status == Milestone.Status.ACCEPTED
    assert captures(dispute) == 1
    assert state(client_user.wallet) == (400, 400, 0)
    logged = Activity.objects.get(milestone=dispute.milestone, verb="dispute_settled")
    assert logged.actor is None
    assert logged.reason == "The client did not answer within 7 days."
    assert any("closed" in m.subject and m.to == ["client@example.com"] for m in mailoutbox)
    assert any(f"://testserver/disputes/{dispute.pk}" in m.body for m in mailoutbox)

    out = run(deadline(asked_at, settings) + timedelta(days=1))
    assert "Closed 0 unanswered disputes" in out
    assert captures(dispute) == 1
    assert state(client_user.wallet) == (400, 400, 0)


def test_before_the_deadline_nothing_happens(client_user, dispute, asked_at, run, settings):
    run(deadline(asked_at, settings) - timedelta(minutes=1))
    dispute.refresh_from_db()
    assert dispute.status == Status.AWAITING_USER
    assert captures(dispute) == 0
    assert state(client_user.wallet) == (1000, 1000, 0)


def test_the_client_is_reminded_72_and_24_hours_before_each_once(
    dispute, asked_at, run, settings, mailoutbox
):
    end = deadline(asked_at, settings)
    run(end - timedelta(hours=73))
    assert mailoutbox == []
    run(end - timedelta(hours=71))
    run(end - timedelta(hours=70))
    run(end - timedelta(hours=23))
    run(end - timedelta(hours=22))
    subjects = [m.subject for m in mailoutbox]
    assert subjects == [
        f"[CreditDesk] Dispute #{dispute.pk}: 72 hours left to reply",
        f"[CreditDesk] Dispute #{dispute.pk}: 24 hours left to reply",
    ]
    assert all(m.to == ["client@example.com"] for m in mailoutbox)
    assert f"://testserver/disputes/{dispute.pk}" in mailoutbox[0].body  # an absolute link


def test_a_first_run_inside_the_last_day_sends_only_the_24_hour_reminder(
    dispute, asked_at, run, settings, mailoutbox
):
    run(deadline(asked_at, settings) - timedelta(hours=20))
    assert [m.subject for m in mailoutbox] == [
        f"[CreditDesk] Dispute #{dispute.pk}: 24 hours left to reply"
    ]


def test_the_clients_answer_in_time_stops_the_clock(
    client_user, dispute, asked_at, run, settings, mailoutbox
):
    with time_machine.travel(asked_at + timedelta(days=2), tick=False):
        services.post_message(dispute=dispute, author=client_user, body="Pages 4 to 9.")
    run(deadline(asked_at, settings) + timedelta(days=3))
    dispute.refresh_from_db()
    assert dispute.status == Status.UNDER_REVIEW
    assert captures(dispute) == 0
    assert state(client_user.wallet) == (1000, 1000, 0)
    assert not any("hours left" in m.subject for m in mailoutbox)


def test_a_new_question_starts_a_new_deadline(client_user, staff, dispute, asked_at, run, settings):
    with time_machine.travel(asked_at + timedelta(days=2), tick=False):
        services.post_message(dispute=dispute, author=client_user, body="Pages 4 to 9.")
    asked_again = asked_at + timedelta(days=5)
    with time_machine.travel(asked_again, tick=False):
        services.request_information(dispute=dispute, staff=staff, question="And the index?")
    run(deadline(asked_at, settings) + timedelta(minutes=1))
    dispute.refresh_from_db()
    assert dispute.status == Status.AWAITING_USER
    run(deadline(asked_again, settings) + timedelta(minutes=1))
    dispute.refresh_from_db()
    assert dispute.status == Status.REJECTED
    assert captures(dispute) == 1


def test_a_dispute_waiting_on_staff_is_never_closed_by_the_clock(
    client_user, dispute, asked_at, run, settings
):
    services.post_message(dispute=dispute, author=client_user, body="Pages 4 to 9.")
    run(asked_at + timedelta(days=365))
    dispute.refresh_from_db()
    assert dispute.status == Status.UNDER_REVIEW
    assert dispute.milestone.status == Milestone.Status.DISPUTED
    assert state(client_user.wallet) == (1000, 1000, 0)


def test_staff_deciding_first_leaves_the_clock_nothing_to_do(
    client_user, staff, dispute, asked_at, run, settings
):
    services.resolve(dispute=dispute, staff=staff, amount=200)
    run(deadline(asked_at, settings) + timedelta(minutes=1))
    dispute.refresh_from_db()
    assert dispute.status == Status.RESOLVED
    assert captures(dispute) == 1
    assert state(client_user.wallet) == (600, 400, 200)
