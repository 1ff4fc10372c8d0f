"""Staff run jobs from the admin: each job read with its milestones, files, links and log;
overrides (force-accept, force-release) through an intermediate form with a reason, by staff who
may deliver jobs; nothing that moves credits is edited by hand."""

import pytest
from django.urls import reverse

from credits.services import wallets
from jobs.models import Activity, Job, Milestone
from tests.clients import sign_in_staff
from tests.credits.conftest import ACTOR, state
from tests.factories import StaffFactory, UserFactory
from tests.jobs.conftest import delivered, milestones, open_job
from tests.pages import drawn_form, page, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]
Status = Milestone.Status
REASON = {"reason": "The client confirmed by phone."}


def delivered_job(*amounts: int) -> Job:
    """A live job of a new client whose first milestone is delivered, in review."""
    job = open_job(UserFactory(), *(amounts or (600, 400)))
    delivered(job, StaffFactory(is_superuser=False, permissions=["jobs.deliver"]))
    return job


def override_url(name: str, *chosen: Milestone) -> str:
    ids = ",".join(str(m.pk) for m in chosen)
    return reverse("admin:jobs_milestone_override", args=[name]) + f"?ids={ids}"


def signed_in(client, **staff):
    user = StaffFactory(**staff)
    sign_in_staff(client, user)
    client.staff = user
    return client


@pytest.fixture
def staff_client(client):
    return signed_in(client, is_superuser=False, permissions=["jobs.deliver"])


def test_the_job_list_filters_by_status_and_priority_and_searches(staff_client):
    urgent = open_job(UserFactory(), 100, title="Urgent logo", priority="urgent")
    open_job(UserFactory(), 100, title="Calm website")

    url = reverse("admin:jobs_job_changelist")
    by_priority = text(staff_client.get(url, {"priority__exact": "urgent"}))
    by_search = page(staff_client.get(url, {"q": "calm"})).select("#result_list tbody tr")
    by_status = page(staff_client.get(url, {"status__exact": "draft"}))

    assert "Urgent logo" in by_priority
    assert "Calm website" not in by_priority
    assert len(by_search) == 1
    assert "Calm website" in by_search[0].get_text()
    assert by_status.select("#result_list tbody tr") == []
    assert str(urgent.pk) in by_priority


def test_the_job_page_shows_its_milestones_links_and_log_read_only(staff_client):
    job = delivered_job(600, 400)

    response = staff_client.get(reverse("admin:jobs_job_change", args=[job.pk]))

    shown = text(response)
    assert response.status_code == 200
    assert "Milestone 1" in shown
    assert "Delivered, in review" in shown
    assert "https://example.com/preview" in shown
    assert "submitted the job and reserved its budget" in shown
    assert "Force-accept" in shown
    assert "Force-release" in shown
    soup = page(response)
    assert soup.select('input[name="title"], textarea, input[name$="-amount"]') == []
    assert soup.select('input[type="submit"][name="_save"]') == []


def test_nobody_adds_edits_or_deletes_jobs_or_milestones_in_the_admin(client):
    signed_in(client)  # a superuser
    job = delivered_job(100)
    milestone = job.milestones.get()

    assert client.get(reverse("admin:jobs_job_add")).status_code == 403
    assert client.get(reverse("admin:jobs_milestone_add")).status_code == 403
    posted = client.post(
        reverse("admin:jobs_milestone_change", args=[milestone.pk]),
        {"amount": 1, "status": "accepted"},
    )
    assert posted.status_code == 403
    assert client.post(reverse("admin:jobs_job_delete", args=[job.pk])).status_code == 403
    milestone.refresh_from_db()
    assert (milestone.amount, milestone.status) == (100, Status.SUBMITTED)


def test_staff_force_accept_a_milestone_with_a_reason(staff_client):
    job = delivered_job(600, 400)
    first = milestones(job)[0]

    response = staff_client.post(
        drawn_form(staff_client, override_url("force_accept", first)), REASON
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:jobs_job_change", args=[job.pk])
    first.refresh_from_db()
    assert first.status == Status.ACCEPTED
    assert state(job.client.wallet) == (400, 400, 0)
    logged = Activity.objects.get(milestone=first, verb="force_accepted")
    assert (logged.actor, logged.reason) == (staff_client.staff, REASON["reason"])


def test_staff_force_release_the_open_milestones_of_the_selected_jobs(staff_client):
    job = delivered_job(600, 400)

    chosen = staff_client.post(
        reverse("admin:jobs_job_changelist"),
        {"action": "force_release_open_milestones", "_selected_action": [job.pk]},
    )
    assert chosen.status_code == 302
    form = staff_client.get(drawn_form(staff_client, chosen["Location"]))
    assert "Force-release 2 milestones" in text(form)
    staff_client.post(drawn_form(staff_client, chosen["Location"]), REASON)

    job.refresh_from_db()
    assert job.status == Job.Status.CANCELLED
    assert state(job.client.wallet) == (1000, 0, 1000)
    assert {m.status for m in milestones(job)} == {Status.CANCELLED}


def test_the_milestone_list_action_leads_to_the_same_form(staff_client):
    job = delivered_job(100)
    milestone = job.milestones.get()

    chosen = staff_client.post(
        reverse("admin:jobs_milestone_changelist"),
        {"action": "force_accept", "_selected_action": [milestone.pk]},
    )

    assert chosen["Location"] == override_url("force_accept", milestone)


def test_an_override_needs_a_reason_and_changes_nothing_without_one(staff_client):
    job = delivered_job(100)
    milestone = job.milestones.get()

    response = staff_client.post(
        drawn_form(staff_client, override_url("force_accept", milestone)), {"reason": "  "}
    )

    assert response.status_code == 200
    assert "This field is required." in text(response)
    milestone.refresh_from_db()
    assert milestone.status == Status.SUBMITTED
    assert state(job.client.wallet) == (100, 100, 0)


def test_a_refused_override_changes_nothing_and_says_why(staff_client):
    job = delivered_job(600, 400)
    first, second = milestones(job)
    url = drawn_form(staff_client, override_url("force_accept", first, second))
    staff_client.post(drawn_form(staff_client, override_url("force_release", second)), REASON)
    before = state(job.client.wallet)

    shown = text(staff_client.post(url, REASON, follow=True))

    assert "only a funded milestone can be accepted or released" in shown
    assert "Nothing was changed (an override does all 2 milestones or none)" in shown
    assert state(job.client.wallet) == before
    first.refresh_from_db()
    assert first.status == Status.SUBMITTED


def test_an_override_the_ledger_refuses_changes_nothing(staff_client):
    job = delivered_job(600, 400)
    first, second = milestones(job)
    url = drawn_form(staff_client, override_url("force_accept", first, second))
    wallets.freeze(wallet=job.client.wallet, reason="Chargeback review.", actor=ACTOR)
    before = state(job.client.wallet), sorted(job.milestones.values_list("status", flat=True))

    response = staff_client.post(url, REASON, follow=True)

    assert response.status_code == 200
    assert "Nothing was changed" in text(response)
    after = state(job.client.wallet), sorted(job.milestones.values_list("status", flat=True))
    assert after == before


def test_staff_without_the_deliver_permission_cannot_override(client):
    signed_in(client, is_superuser=False, permissions=["jobs.view_job", "jobs.view_milestone"])
    job = delivered_job(100)
    milestone = job.milestones.get()

    assert client.get(override_url("force_accept", milestone)).status_code == 403
    listed = text(client.get(reverse("admin:jobs_job_changelist")))
    assert "Force-accept" not in listed
    milestone.refresh_from_db()
    assert milestone.status == Status.SUBMITTED


def test_deliverers_see_jobs_in_the_admin_index_after_disputes(staff_client):
    response = staff_client.get(reverse("admin:index"))

    captions = [c.get_text(strip=True) for c in page(response).select("#content-main caption")]
    assert "Jobs" in captions
