"""Jobs in every state, made through the services (never by writing rows)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from jobs import services as jobs
from jobs.models import Job, Milestone
from jobs.services import MilestonePlan
from tests.credits.conftest import fund
from tests.factories import StaffFactory, UserFactory

pytestmark = pytest.mark.usefixtures("ledger_reconciles")


def soon(days: int = 14):
    return timezone.now().date() + timedelta(days=days)


def draft_job(client, *amounts: int, title: str = "A brand refresh", **fields) -> Job:
    """A complete draft of `client`'s whose milestones have these amounts (budget: their sum)."""
    amounts = amounts or (600, 400)
    job = jobs.create_draft(client=client, title=title, budget=sum(amounts), **fields)
    jobs.plan_milestones(
        job=job,
        by=client,
        milestones=[
            MilestonePlan(title=f"Milestone {n}", due_date=soon(7 * n), amount=amount)
            for n, amount in enumerate(amounts, start=1)
        ],
    )
    return job


def open_job(client, *amounts: int, **fields) -> Job:
    """A submitted job: the client is funded with exactly its budget, which is now reserved."""
    job = draft_job(client, *amounts, **fields)
    fund(client.wallet, job.budget)
    return jobs.submit(job=job, by=client)


def milestones(job: Job) -> list[Milestone]:
    return list(job.milestones.order_by("position"))


def delivered(job: Job, staff, index: int = 0) -> Milestone:
    milestone = milestones(job)[index]
    link = [("Preview", "https://example.com/preview")]
    jobs.deliver(milestone=milestone, by=staff, message="Here it is.", links=link)
    milestone.refresh_from_db()
    return milestone


@pytest.fixture
def client_user(db):
    return UserFactory()


@pytest.fixture
def deliverer(db):
    return StaffFactory(is_superuser=False, permissions=["jobs.deliver"])
