"""`manage.py jobs_autoaccept`: every waiting state's default outcome, run from cron with the
clock moved (time-machine). A delivered milestone is paid when its review window ends, the
client reminded before; an undelivered one lapses past its deadline; a disputed one waits for
staff; and the ledger's own hold expiry never takes a live job's credits."""

from datetime import datetime, time, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from credits import services as credits
from credits.models import CreditTransaction, Hold
from events.dispatch import dispatch_pending
from jobs import services as jobs
from jobs.models import Activity, Job, Milestone
from tests.credits.conftest import ACTOR, state
from tests.jobs.conftest import delivered, milestones, open_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]
Status = Milestone.Status


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run the command at `at` (now if not given), e-mails sent as they are after commit;
    what it printed (stdout, stderr)."""

    def run_at(at: datetime | None = None) -> tuple[str, str]:
        out, err = StringIO(), StringIO()
        with (
            time_machine.travel(at or timezone.now(), tick=False),
            django_capture_on_commit_callbacks(execute=True),
        ):
            call_command("jobs_autoaccept", stdout=out, stderr=err)
        return out.getvalue(), err.getvalue()

    return run_at


def review_end(milestone: Milestone) -> datetime:
    milestone.refresh_from_db()
    return milestone.review_ends_at


def captures(milestone: Milestone) -> int:
    return CreditTransaction.objects.filter(kind="capture", hold=milestone.hold_id).count()


def past_delivery_deadline(milestone: Milestone, settings) -> datetime:
    milestone.refresh_from_db()
    end_of_due = datetime.combine(
        milestone.due_date, time.max, tzinfo=timezone.get_current_timezone()
    )
    return end_of_due + timedelta(days=settings.JOBS_DELIVERY_GRACE_DAYS, minutes=1)


def test_a_delivered_milestone_is_accepted_when_its_review_window_ends(
    client_user, deliverer, run, settings
):
    job = open_job(client_user, 600, 400)
    first = delivered(job, deliverer)
    assert review_end(first) - timezone.now() == pytest.approx(
        timedelta(days=settings.JOBS_REVIEW_DAYS), abs=timedelta(minutes=1)
    )

    early, _ = run(review_end(first) - timedelta(minutes=1))
    assert state(client_user.wallet) == (1000, 1000, 0)
    out, err = run(review_end(first) + timedelta(seconds=1))

    first.refresh_from_db()
    assert first.status == Status.ACCEPTED
    assert state(client_user.wallet) == (400, 400, 0)
    assert captures(first) == 1
    assert "Accepted 0 milestones" in early
    assert "Accepted 1 milestone" in out
    assert err == ""
    assert Activity.objects.filter(milestone=first, verb="auto_accepted", actor=None).exists()


def test_running_twice_captures_once_and_does_nothing_more(client_user, deliverer, run):
    job = open_job(client_user, 600, 400)
    first = delivered(job, deliverer)
    after = review_end(first) + timedelta(hours=1)

    run(after)
    logged = Activity.objects.count()
    out, _ = run(after)

    assert captures(first) == 1
    assert state(client_user.wallet) == (400, 400, 0)
    assert Activity.objects.count() == logged
    assert "Accepted 0 milestones" in out


def test_the_last_milestone_accepted_by_the_clock_completes_the_job(client_user, deliverer, run):
    job = open_job(client_user, 100)
    only = delivered(job, deliverer)

    run(review_end(only) + timedelta(seconds=1))

    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
    assert Hold.objects.get(pk=only.hold_id).status == Hold.Status.CAPTURED


def test_the_client_is_reminded_72_and_24_hours_before_each_once(
    client_user, deliverer, run, mailoutbox
):
    job = open_job(client_user, 100)
    milestone = delivered(job, deliverer)
    end = review_end(milestone)
    # The setup's events, as if it had committed before: their e-mails are not this test's.
    dispatch_pending()
    mailoutbox.clear()

    for hours_left in (80, 71, 70, 23, 22):
        run(end - timedelta(hours=hours_left))

    reminders = [m.subject for m in mailoutbox if m.to == [client_user.email]]
    assert len(reminders) == 2
    assert "72 hours left to review Milestone 1" in reminders[0]
    assert "24 hours left to review Milestone 1" in reminders[1]
    assert Activity.objects.filter(milestone=milestone, verb="reminded").count() == 2
    assert state(client_user.wallet) == (100, 100, 0)


def test_a_first_run_inside_the_last_day_sends_only_the_24_hour_reminder(
    client_user, deliverer, run, mailoutbox
):
    job = open_job(client_user, 100)
    milestone = delivered(job, deliverer)
    # The setup's events, as if it had committed before: their e-mails are not this test's.
    dispatch_pending()
    mailoutbox.clear()

    out, _ = run(review_end(milestone) - timedelta(hours=10))

    subjects = [m.subject for m in mailoutbox]
    assert len(subjects) == 1
    assert "24 hours left" in subjects[0]
    assert "sent 1 reminder" in out


def test_a_disputed_milestone_is_never_accepted_by_the_clock(client_user, deliverer, run):
    job = open_job(client_user, 100)
    milestone = delivered(job, deliverer)
    end = review_end(milestone)
    jobs.mark_disputed(milestone=milestone, by=client_user, reason="Not what we agreed")

    run(end + timedelta(days=400))

    milestone.refresh_from_db()
    assert milestone.status == Status.DISPUTED
    assert state(client_user.wallet) == (100, 100, 0)


def test_changes_requested_stop_the_clock_and_a_new_delivery_restarts_it(
    client_user, deliverer, run, settings
):
    job = open_job(client_user, 100)
    milestone = delivered(job, deliverer)
    first_end = review_end(milestone)
    jobs.request_changes(milestone=milestone, by=client_user, reason="Bigger type, please")

    run(first_end + timedelta(hours=1))
    milestone.refresh_from_db()
    assert milestone.status == Status.CHANGES_REQUESTED
    redelivered_at = first_end + timedelta(days=2)
    with time_machine.travel(redelivered_at, tick=False):
        milestone = delivered(job, deliverer)
    second_end = review_end(milestone)
    assert second_end == redelivered_at + timedelta(days=settings.JOBS_REVIEW_DAYS)

    run(second_end - timedelta(minutes=1))
    milestone.refresh_from_db()
    assert milestone.status == Status.SUBMITTED
    run(second_end)
    milestone.refresh_from_db()
    assert milestone.status == Status.ACCEPTED
    assert state(client_user.wallet) == (0, 0, 0)


def test_an_undelivered_milestone_past_its_deadline_is_cancelled_and_its_credits_come_back(
    client_user, deliverer, run, settings, mailoutbox
):
    job = open_job(client_user, 600, 400)
    first, second = milestones(job)
    deadline = past_delivery_deadline(first, settings)

    run(deadline - timedelta(minutes=2))
    first.refresh_from_db()
    assert first.status == Status.FUNDED
    out, _ = run(deadline)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (Status.CANCELLED, Status.FUNDED)
    assert state(client_user.wallet) == (1000, 400, 600)
    assert Hold.objects.get(pk=first.hold_id).status == Hold.Status.RELEASED
    assert "cancelled 1 undelivered past their deadline" in out
    assert any("Milestone 1 was cancelled" in m.subject for m in mailoutbox)
    assert Activity.objects.filter(milestone=first, verb="lapsed").exists()


def test_a_change_request_moves_the_delivery_deadline_from_the_request(
    client_user, deliverer, run, settings
):
    job = open_job(client_user, 100)
    milestone = delivered(job, deliverer)
    late = past_delivery_deadline(milestone, settings)
    with time_machine.travel(late - timedelta(days=3), tick=False):
        jobs.request_changes(milestone=milestone, by=client_user, reason="Again")

    run(late)
    milestone.refresh_from_db()
    assert milestone.status == Status.CHANGES_REQUESTED
    run(
        milestone.changes_requested_at
        + timedelta(days=settings.JOBS_DELIVERY_GRACE_DAYS, minutes=1)
    )
    milestone.refresh_from_db()
    assert milestone.status == Status.CANCELLED
    assert state(client_user.wallet) == (100, 0, 100)


@pytest.mark.parametrize("status", ["frozen", "suspended"])
def test_a_wallet_that_cannot_pay_is_reported_and_skipped_and_the_run_succeeds(
    client_user, deliverer, run, status
):
    job = open_job(client_user, 600, 400)
    first = delivered(job, deliverer)
    change = credits.freeze if status == "frozen" else credits.suspend
    change(wallet=client_user.wallet, reason="Chargeback", actor=ACTOR)

    out, err = run(review_end(first) + timedelta(hours=1))

    first.refresh_from_db()
    assert first.status == Status.SUBMITTED
    assert "Accepted 0 milestones" in out
    (line,) = err.splitlines()
    assert line.startswith(f"Milestone #{first.pk} waits: ")
    assert status in line
    assert state(client_user.wallet) == (1000, 1000, 0)

    # Once the wallet may pay again, the next run accepts it: the refusal was not kept.
    reopen = credits.unfreeze if status == "frozen" else credits.reactivate
    reopen(wallet=client_user.wallet, reason="Cleared", actor=ACTOR)
    out, err = run(review_end(first) + timedelta(hours=2))
    first.refresh_from_db()
    assert (first.status, err) == (Status.ACCEPTED, "")
    assert state(client_user.wallet) == (400, 400, 0)


def test_credits_release_holds_never_releases_a_live_jobs_credits(client_user, deliverer, settings):
    job = open_job(client_user, 600, 300, 100)
    first, *_ = milestones(job)
    jobs.deliver(milestone=first, by=deliverer, message="v1", links=[("v1", "https://a.example")])
    jobs.mark_disputed(milestone=first, by=client_user, reason="Wrong colours")
    delivered(job, deliverer, index=1)
    far = timezone.now() + timedelta(days=settings.CREDITS_HOLD_MAX_TTL_DAYS * 8)
    assert far.date() > max(m.due_date for m in milestones(job)) + timedelta(days=365)

    out = StringIO()
    with time_machine.travel(far, tick=False):
        call_command("credits_release_holds", stdout=out)

    assert "Released 0 credits from 0 expired holds" in out.getvalue()
    assert state(client_user.wallet) == (1000, 1000, 0)
    assert set(Hold.objects.filter(milestone__job=job).values_list("status", flat=True)) == {
        Hold.Status.OPEN
    }
