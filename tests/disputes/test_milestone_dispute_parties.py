"""Whoever did the work disputed is a party to the dispute, as the client is: they never handle
it (assigned, a question asked, resolved, rejected, at any level), so the deadline can never pay
them for a question they asked themselves. And only the client reaches the milestone to
dispute it: anyone else, staff included, hears there is no such milestone."""

import pytest
from django.urls import reverse

from disputes import services
from disputes.errors import DisputeError
from disputes.models import Dispute
from jobs import services as jobs
from jobs.models import Milestone
from tests.clients import api_token, sign_in_staff
from tests.credits.conftest import state
from tests.factories import StaffFactory, UserFactory
from tests.jobs.conftest import delivered, open_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]


@pytest.fixture
def worker(db):
    """Staff who deliver jobs and also handle disputes, escalated ones too."""
    return StaffFactory(permissions=["jobs.deliver", "disputes.handle_escalated"])


@pytest.fixture
def dispute(worker) -> Dispute:
    client = UserFactory()
    milestone = delivered(open_job(client, 600), worker)
    return services.open_milestone_dispute(
        user=client, milestone=milestone, reason="poor_quality", description="Thin.", amount=600
    )


def steps(dispute, worker):
    return {
        "assign": lambda: services.assign(dispute=dispute, assignee=worker, by=worker),
        "ask": lambda: services.request_information(dispute=dispute, staff=worker, question="?"),
        "resolve": lambda: services.resolve(dispute=dispute, staff=worker, amount=600),
        "reject": lambda: services.reject(dispute=dispute, staff=worker, reason="Delivered."),
    }


@pytest.mark.parametrize("step", ["assign", "ask", "resolve", "reject"])
def test_the_deliverer_never_handles_the_dispute_on_their_work(dispute, worker, step):
    before = state(dispute.user.wallet)

    with pytest.raises(DisputeError, match=r"did the work|were assigned or delivered"):
        steps(dispute, worker)[step]()

    dispute.refresh_from_db()
    assert dispute.status == Dispute.Status.OPEN
    assert dispute.assignee_id is None
    assert state(dispute.user.wallet) == before


def test_nor_the_escalation(dispute, worker):
    colleague = StaffFactory()
    services.reject(dispute=dispute, staff=colleague, reason="It was delivered.")
    services.escalate(dispute=dispute, user=dispute.user, reason="It was not.")
    dispute.refresh_from_db()

    with pytest.raises(DisputeError, match="were assigned or delivered"):
        services.reject(dispute=dispute, staff=worker, reason="Still delivered.")
    with pytest.raises(DisputeError, match="were assigned or delivered"):
        services.resolve(dispute=dispute, staff=worker, amount=600)

    dispute.refresh_from_db()
    assert dispute.level == 2
    assert dispute.is_active


def test_the_assignee_of_the_job_is_a_party_too(worker):
    client = UserFactory()
    job = open_job(client, 600)
    colleague = StaffFactory(is_superuser=False, permissions=["jobs.deliver"])
    jobs.assign(job=job, assignee=worker, by=worker)
    milestone = delivered(job, colleague)
    dispute = services.open_milestone_dispute(
        user=client, milestone=milestone, reason="poor_quality", description="Thin.", amount=600
    )

    with pytest.raises(DisputeError, match="were assigned or delivered"):
        services.request_information(dispute=dispute, staff=worker, question="Which?")


def test_only_the_client_reaches_a_milestone_to_dispute_it(client, worker):
    client_user = UserFactory()
    milestone = delivered(open_job(client_user, 600), worker)
    address = f"/api/v1/jobs/{milestone.job_id}/milestones/{milestone.pk}/dispute"
    body = {"reason": "poor_quality", "description": "Thin.", "amount": 600}
    token = {"HTTP_AUTHORIZATION": f"Token {api_token(worker)}", "HTTP_IDEMPOTENCY_KEY": "k-1"}

    by_token = client.post(address, body, content_type="application/json", **token)
    made_up = client.post(
        f"/api/v1/jobs/{milestone.job_id}/milestones/{milestone.pk + 99}/dispute",
        body,
        content_type="application/json",
        **token,
    )
    sign_in_staff(client, worker)
    page = client.get(reverse("disputes:open-milestone", args=[milestone.pk]))

    assert by_token.status_code == made_up.status_code == 404
    assert page.status_code == 404
    assert Milestone.objects.get(pk=milestone.pk).status == Milestone.Status.SUBMITTED
    assert not Dispute.objects.exists()
