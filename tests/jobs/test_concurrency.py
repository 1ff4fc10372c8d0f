"""The job flow under real concurrency: threads with their own PostgreSQL connections, started
together on a barrier. Every step on a job locks its row first, so a double click, a retry and
the review clock racing the client all end in one settlement of a milestone's hold."""

from datetime import timedelta

import pytest
from django.db import connection

from credits.models import CreditTransaction, Hold
from credits.reconciliation import reconcile
from jobs import services as jobs
from jobs.errors import WrongStatus
from jobs.models import Delivery, Job, Milestone
from tests.credits.conftest import fund, state
from tests.factories import StaffFactory, UserFactory
from tests.jobs.conftest import delivered, draft_job, milestones, open_job
from tests.threads import at_once

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="row-lock concurrency needs PostgreSQL (DATABASE_URL); SQLite serialises writers",
    ),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("ledger_reconciles"),
]
Status = Milestone.Status


def people():
    return UserFactory(), StaffFactory(is_superuser=False, permissions=["jobs.deliver"])


def settled_once(milestone: Milestone, *, captured: int) -> None:
    """The milestone's hold was settled by one ledger operation, capturing `captured`."""
    kinds = ("capture", "release")
    moves = CreditTransaction.objects.filter(hold=milestone.hold_id, kind__in=kinds)
    assert moves.count() == 1, list(moves.values_list("kind", "amount"))
    assert sum(t.amount for t in moves if t.kind == "capture") == captured
    assert Hold.objects.get(pk=milestone.hold_id).status != Hold.Status.OPEN
    assert reconcile().problems == []


def test_a_double_click_and_retries_on_accept_capture_once():
    client, staff = people()
    job = open_job(client, 600, 400)
    first = delivered(job, staff)

    results = at_once(6, lambda i: jobs.accept(milestone=first, by=client))

    accepted = [r for r in results if isinstance(r, Milestone)]
    refused = [r for r in results if isinstance(r, WrongStatus)]
    assert (len(accepted), len(refused)) == (1, 5), results
    settled_once(first, captured=600)
    assert state(client.wallet) == (400, 400, 0)


def test_an_acceptance_racing_the_review_clock_captures_once():
    client, staff = people()
    for _ in range(5):  # a few rounds, so both orders are likely to happen
        job = open_job(client, 300)
        milestone = delivered(job, staff)
        after_review = milestone.review_ends_at + timedelta(seconds=1)

        def work(index: int, milestone=milestone, after_review=after_review):
            if index == 0:
                return jobs.run_clock(now=after_review)
            return jobs.accept(milestone=milestone, by=client)

        results = at_once(2, work)

        report, accepted = results
        assert isinstance(accepted, Milestone | WrongStatus), accepted
        assert isinstance(report, jobs.ClockReport), report
        assert (len(report.accepted) == 1) == isinstance(accepted, WrongStatus)
        settled_once(milestone, captured=300)
    assert state(client.wallet) == (0, 0, 0)
    assert Job.objects.filter(status=Job.Status.COMPLETED).count() == 5


def test_two_submits_at_once_reserve_the_budget_once():
    client, _ = people()
    job = draft_job(client, 600, 400)
    fund(client.wallet, 1500)

    results = at_once(4, lambda i: jobs.submit(job=job, by=client))

    submitted = [r for r in results if isinstance(r, Job)]
    assert len(submitted) == 1, results
    assert all(isinstance(r, WrongStatus | Job) for r in results), results
    assert state(client.wallet) == (1500, 1000, 500)
    assert Hold.objects.filter(wallet=client.wallet, status=Hold.Status.OPEN).count() == 2
    assert reconcile().problems == []


def test_a_delivery_racing_a_cancellation_leaves_one_consistent_outcome():
    client, staff = people()
    for _ in range(5):
        job = open_job(client, 200)
        (milestone,) = milestones(job)

        def work(index: int, milestone=milestone):
            if index == 0:
                return jobs.cancel_milestone(milestone=milestone, by=client)
            link = [("Preview", "https://example.com/preview")]
            return jobs.deliver(milestone=milestone, by=staff, message="Done.", links=link)

        cancelled, delivery = at_once(2, work)

        milestone.refresh_from_db()
        hold = Hold.objects.get(pk=milestone.hold_id)
        if isinstance(delivery, Delivery):
            assert isinstance(cancelled, WrongStatus), cancelled
            assert milestone.status == Status.SUBMITTED
            assert hold.status == Hold.Status.OPEN
            jobs.accept(milestone=milestone, by=client)  # settle it, for the next round's figures
        else:
            assert isinstance(delivery, WrongStatus), delivery
            assert isinstance(cancelled, Milestone), cancelled
            assert milestone.status == Status.CANCELLED
            assert hold.status == Hold.Status.RELEASED
            assert not Delivery.objects.filter(milestone=milestone).exists()
        assert reconcile().problems == []
    client.wallet.refresh_from_db()
    assert client.wallet.held == 0
