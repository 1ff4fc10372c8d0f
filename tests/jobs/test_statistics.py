"""Statistics are counted from rows and summed from the ledger: they equal the sums over the
ledger's entries on the jobs' holds, whatever happened."""

import pytest
from django.db.models import Sum

from credits.models import Entry, Hold
from jobs import services as jobs
from jobs.selectors.statistics import statistics
from tests.factories import UserFactory
from tests.jobs.conftest import delivered, open_job

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]


def consumed_by_job_captures(client=None) -> int:
    """What the ledger's entries say jobs paid: the consumption account's side of captures of
    milestone holds."""
    entries = Entry.objects.filter(
        transaction__kind="capture",
        transaction__hold__milestone__isnull=False,
        amount__gt=0,
    )
    if client is not None:
        entries = entries.filter(transaction__wallet__user=client)
    return entries.aggregate(total=Sum("amount"))["total"] or 0


def test_the_figures_match_the_ledger(client_user, deliverer):
    other = UserFactory()
    job = open_job(client_user, 600, 400, 250)
    jobs.accept(milestone=delivered(job, deliverer, 0), by=client_user)
    jobs.accept_in_part(
        milestone=delivered(job, deliverer, 1), by=client_user, amount=150, reason="Half done"
    )
    open_job(other, 300)

    mine = statistics(client=client_user)
    assert mine.captured == consumed_by_job_captures(client_user) == 750
    assert mine.released == 250  # the rest of the part-accepted milestone
    assert mine.reserved == 250
    assert mine.jobs_by_status["in_progress"] == 1
    assert mine.median_review_hours is not None

    everyone = statistics()
    assert everyone.captured == consumed_by_job_captures() == 750
    assert everyone.reserved == 550
    held = Hold.objects.filter(status="open").aggregate(total=Sum("amount"))["total"]
    assert everyone.reserved == held
    assert everyone.jobs == 2


def test_a_user_without_jobs_sees_zeros(client_user):
    figures = statistics(client=client_user)
    assert (figures.jobs, figures.reserved, figures.captured, figures.released) == (0, 0, 0, 0)
    assert figures.median_review_hours is None
