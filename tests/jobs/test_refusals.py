"""Inputs and steps the job flow refuses with a clear answer and no change: a draft's milestone
cancelled, a wallet the ledger refuses, a forged formset count, settling a dispute on one's own
work, a file delivered twice, a link on a closed job, a staff member assigned their own job;
and a staff release's reason written to the ledger."""

import pytest
from django.urls import reverse

from credits.models import CreditTransaction
from credits.services import wallets
from jobs import services as jobs
from jobs.errors import JobError, NotAllowed, WrongStatus
from jobs.models import Job, Milestone
from tests.clients import sign_in_staff
from tests.credits.conftest import ACTOR, state
from tests.factories import StaffFactory
from tests.jobs.conftest import delivered, draft_job, milestones, open_job
from tests.jobs.files import upload
from tests.pages import text

pytestmark = pytest.mark.django_db
Status = Milestone.Status


@pytest.fixture
def signed_in(client, client_user):
    client.force_login(client_user)
    return client


def test_a_drafts_milestone_is_replanned_not_cancelled(client_user):
    job = draft_job(client_user, 600, 400)

    with pytest.raises(WrongStatus, match="is a draft: nothing is reserved"):
        jobs.cancel_milestone(milestone=milestones(job)[0], by=client_user)

    assert [m.status for m in milestones(job)] == [Status.PLANNED, Status.PLANNED]


def test_accepting_from_a_frozen_wallet_is_said_on_the_page(signed_in, client_user, deliverer):
    job = open_job(client_user, 600)
    milestone = delivered(job, deliverer)
    wallets.freeze(wallet=client_user.wallet, reason="Chargeback review.", actor=ACTOR)
    before = state(client_user.wallet)

    response = signed_in.post(reverse("jobs:accept", args=[milestone.pk]), follow=True)

    assert response.status_code == 200
    assert "frozen" in text(response).lower()
    assert state(client_user.wallet) == before
    milestone.refresh_from_db()
    assert milestone.status == Status.SUBMITTED


@pytest.mark.parametrize("total", ["abc", "-1", "99999999999999999999", ""])
def test_a_forged_row_count_is_a_form_error_not_a_crash(signed_in, client_user, total):
    job = draft_job(client_user, 600)
    url = reverse("jobs:edit", args=[job.pk, "planning"])

    response = signed_in.post(url, {"milestones-TOTAL_FORMS": total, "add_row": "1"})

    assert response.status_code in (200, 400)
    assert [m.amount for m in milestones(job)] == [600]


def test_a_staff_release_carries_its_reason_in_the_ledger(client_user, deliverer):
    job = open_job(client_user, 600)
    milestone = milestones(job)[0]

    jobs.force_release(milestone=milestone, staff=deliverer, reason="Client left the platform.")

    release = CreditTransaction.objects.get(kind=CreditTransaction.Kind.RELEASE)
    assert release.hold_id == milestone.hold_id
    assert release.metadata["reason"] == "Client left the platform."


def test_whoever_did_the_work_cannot_settle_its_dispute(client_user, deliverer):
    job = open_job(client_user, 600)
    jobs.assign(job=job, assignee=deliverer, by=deliverer)
    milestone = delivered(job, deliverer)
    jobs.mark_disputed(milestone=milestone, by=client_user, reason="Not what we asked for.")
    colleague = StaffFactory(is_superuser=False, permissions=["jobs.deliver"])

    with pytest.raises(NotAllowed, match="work they were assigned or delivered"):
        jobs.settle_dispute(milestone=milestone, staff=deliverer, pay=0)
    jobs.settle_dispute(milestone=milestone, staff=colleague, pay=0)

    milestone.refresh_from_db()
    assert milestone.status == Status.CANCELLED


def test_a_file_stays_with_the_delivery_that_sent_it(client_user, deliverer):
    job = open_job(client_user, 600)
    milestone = milestones(job)[0]
    file = upload(job, deliverer)
    first = jobs.deliver(milestone=milestone, by=deliverer, message="v1", files=[file])
    jobs.request_changes(milestone=milestone, by=client_user, reason="Bigger logo.")

    with pytest.raises(JobError, match=r"Already part of an earlier delivery: logo\.png"):
        jobs.deliver(milestone=milestone, by=deliverer, message="v2", files=[file])

    assert list(first.files.all()) == [file]


def test_a_closed_job_takes_no_more_links(client_user):
    job = open_job(client_user, 600)
    jobs.cancel_job(job=job, by=client_user)

    with pytest.raises(WrongStatus):
        jobs.add_link(job=job, by=client_user, label="Late", url="https://example.com")

    assert job.links.count() == 0


def test_a_staff_member_is_never_assigned_their_own_job(deliverer):
    own = open_job(deliverer, 300)

    with pytest.raises(NotAllowed):
        jobs.assign(job=own, assignee=deliverer, by=deliverer)

    assert Job.objects.get(pk=own.pk).assignee_id is None


def test_the_deliver_form_offers_only_files_not_yet_delivered(client, client_user, deliverer):
    job = open_job(client_user, 600)
    milestone = milestones(job)[0]
    sent = upload(job, deliverer, name="v1.png")
    upload(job, deliverer, name="v2.png")
    jobs.deliver(milestone=milestone, by=deliverer, message="v1", files=[sent])
    jobs.request_changes(milestone=milestone, by=client_user, reason="Bigger logo.")
    sign_in_staff(client, deliverer)

    shown = text(client.get(reverse("jobs:deliver", args=[milestone.pk])))

    assert "v2.png" in shown
    assert "v1.png" not in shown
