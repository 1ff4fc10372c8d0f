"""The job flow through its services: reserve on submit, capture on acceptance, release on
cancellation, every step logged."""

import pytest

from credits.errors import InsufficientCredits
from jobs import services as jobs
from jobs.errors import JobNotFound, NotAllowed, WrongStatus
from jobs.models import Activity, Job, Milestone
from tests.credits.conftest import fund, state
from tests.factories import UserFactory
from tests.jobs.conftest import delivered, draft_job, milestones, open_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]
Status = Milestone.Status


def test_submitting_reserves_the_whole_budget_one_hold_per_milestone(client_user):
    job = open_job(client_user, 600, 400)
    assert job.status == Job.Status.OPEN
    assert state(client_user.wallet) == (1000, 1000, 0)
    assert [(m.status, m.hold.amount) for m in milestones(job)] == [
        (Status.FUNDED, 600),
        (Status.FUNDED, 400),
    ]


def test_a_short_wallet_reserves_nothing_and_hears_the_whole_budget(client_user):
    job = draft_job(client_user, 600, 400)
    fund(client_user.wallet, 700)
    with pytest.raises(InsufficientCredits, match="1000 asked, 700 available"):
        jobs.submit(job=job, by=client_user)
    assert state(client_user.wallet) == (700, 0, 700)
    job.refresh_from_db()
    assert job.status == Job.Status.DRAFT
    assert not Milestone.objects.filter(job=job, hold__isnull=False).exists()


def test_accepting_captures_its_amount_once(client_user, deliverer):
    job = open_job(client_user, 600, 400)
    first = delivered(job, deliverer)
    jobs.accept(milestone=first, by=client_user)
    with pytest.raises(WrongStatus):
        jobs.accept(milestone=first, by=client_user)
    assert state(client_user.wallet) == (400, 400, 0)


def test_accepting_in_part_gives_the_rest_back(client_user, deliverer):
    job = open_job(client_user, 600, 400)
    first = delivered(job, deliverer)
    jobs.accept_in_part(milestone=first, by=client_user, amount=450, reason="One logo missing")
    first.refresh_from_db()
    assert first.status == Status.ACCEPTED_IN_PART
    assert state(client_user.wallet) == (550, 400, 150)


def test_cancelling_a_job_releases_what_was_not_captured_and_closes_it(client_user, deliverer):
    job = open_job(client_user, 600, 400)
    jobs.accept(milestone=delivered(job, deliverer), by=client_user)
    jobs.cancel_job(job=job, by=client_user)
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED  # one milestone was paid
    assert state(client_user.wallet) == (400, 0, 400)


def test_a_delivered_milestone_must_be_decided_before_the_client_cancels(client_user, deliverer):
    job = open_job(client_user, 600, 400)
    delivered(job, deliverer)
    with pytest.raises(WrongStatus, match="was delivered"):
        jobs.cancel_job(job=job, by=client_user)
    assert state(client_user.wallet) == (1000, 1000, 0)


def test_changes_are_capped_then_the_client_accepts_or_disputes(client_user, deliverer, settings):
    settings.JOBS_MAX_REVISIONS = 1
    job = open_job(client_user, 100)
    milestone = delivered(job, deliverer)
    jobs.request_changes(milestone=milestone, by=client_user, reason="Bigger type")
    milestone = delivered(job, deliverer)
    with pytest.raises(WrongStatus, match="the most a milestone allows"):
        jobs.request_changes(milestone=milestone, by=client_user, reason="Again")


def test_a_client_cannot_deliver_and_another_user_cannot_accept(client_user, deliverer):
    job = open_job(client_user, 100)
    with pytest.raises(NotAllowed):
        jobs.deliver(
            milestone=milestones(job)[0],
            by=client_user,
            message="x",
            links=[("a", "https://a.example")],
        )
    milestone = delivered(job, deliverer)
    with pytest.raises(JobNotFound):
        jobs.accept(milestone=milestone, by=UserFactory())


def test_every_step_is_in_the_log(client_user, deliverer):
    job = open_job(client_user, 100)
    milestone = delivered(job, deliverer)
    jobs.accept(milestone=milestone, by=client_user)
    verbs = list(
        Activity.objects.filter(job=job).order_by("created_at", "id").values_list("verb", flat=True)
    )
    assert verbs == [
        "created",
        "edited",
        "submitted",
        "assigned",
        "delivered",
        "accepted",
        "completed",
    ] or verbs == ["created", "edited", "submitted", "delivered", "accepted", "completed"]
