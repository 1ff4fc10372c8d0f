"""A job's holds have no expiry at all (`expires_at` NULL), not a date far away: a milestone may
be due decades ahead, and however far the clock moves `credits_release_holds` leaves them open
while an ordinary hold of the same wallet expires; the milestones are still paid afterwards."""

from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from credits import services as credits
from credits.actors import Actor
from credits.models import Hold
from jobs import services as jobs
from jobs.models import Milestone
from jobs.services import MilestonePlan
from tests.clients import sign_in_staff
from tests.credits.conftest import fund, key, state
from tests.factories import StaffFactory
from tests.jobs.conftest import milestones
from tests.pages import text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]

THIRTY_YEARS = timedelta(days=365 * 30)


def far_job(client, *amounts: int):
    """A submitted job whose last milestone is due thirty years from today."""
    job = jobs.create_draft(client=client, title="A long project", budget=sum(amounts))
    today = timezone.now().date()
    jobs.plan_milestones(
        job=job,
        by=client,
        milestones=[
            MilestonePlan(title="Start", due_date=today + timedelta(days=7), amount=amounts[0]),
            *(
                MilestonePlan(title=f"Late {n}", due_date=today + THIRTY_YEARS, amount=amount)
                for n, amount in enumerate(amounts[1:], start=2)
            ),
        ],
    )
    fund(client.wallet, job.budget)
    return jobs.submit(job=job, by=client)


def job_holds(job) -> list[Hold]:
    return list(Hold.objects.filter(milestone__job=job).order_by("id"))


def test_a_job_due_in_thirty_years_keeps_its_holds_past_any_sweep(client_user, deliverer):
    job = far_job(client_user, 600, 400)
    fund(client_user.wallet, 50)
    ordinary = credits.hold(
        wallet=client_user.wallet,
        amount=50,
        actor=Actor.for_user(client_user),
        idempotency_key=key(),
        expires_at=timezone.now() + timedelta(hours=1),
    ).hold
    assert [h.expires_at for h in job_holds(job)] == [None, None]
    assert state(client_user.wallet) == (1050, 1050, 0)

    out = StringIO()
    with time_machine.travel(timezone.now() + THIRTY_YEARS + timedelta(days=400), tick=False):
        call_command("credits_release_holds", stdout=out)

        assert "Released 50 credits from 1 expired hold" in out.getvalue()
        ordinary.refresh_from_db()
        assert ordinary.status == Hold.Status.EXPIRED
        assert {h.status for h in job_holds(job)} == {Hold.Status.OPEN}
        assert state(client_user.wallet) == (1050, 1000, 50)

        # Still paid after the travel: the holds capture as on the first day.
        for milestone in milestones(job):
            link = [("Final", "https://example.com/final")]
            jobs.deliver(milestone=milestone, by=deliverer, message="Done.", links=link)
            jobs.accept(milestone=milestone, by=client_user)

    assert [m.status for m in milestones(job)] == [Milestone.Status.ACCEPTED] * 2
    assert {h.status for h in job_holds(job)} == {Hold.Status.CAPTURED}
    assert state(client_user.wallet) == (50, 0, 50)


def test_a_second_sweep_leaves_the_job_holds_and_the_reserved_credits_alone(client_user):
    job = far_job(client_user, 300, 200)
    out = StringIO()
    for years in (1, 10, 31, 60):
        with time_machine.travel(timezone.now() + timedelta(days=365 * years), tick=False):
            call_command("credits_release_holds", stdout=out)

    assert out.getvalue().count("Released 0 credits from 0 expired holds") == 4
    assert state(client_user.wallet) == (500, 500, 0)
    assert [h.expires_at for h in job_holds(job)] == [None, None]


def test_the_dashboard_says_the_reservation_lasts_until_the_work_is_settled(client, client_user):
    far_job(client_user, 600, 400)
    client.force_login(client_user)

    shown = text(client.get(reverse("credits:dashboard")))

    assert "600 credits for" in shown
    assert "until the work is settled" in shown


def test_the_admin_shows_a_job_hold_as_until_settled(client, client_user):
    job = far_job(client_user, 600, 400)
    sign_in_staff(client, StaffFactory(is_superuser=True))

    listed = text(client.get(reverse("admin:credits_hold_changelist")))
    wallet_page = text(
        client.get(reverse("admin:credits_wallet_change", args=[client_user.wallet.pk]))
    )

    assert listed.count("until settled") == 2
    assert wallet_page.count("until settled") == 2
    assert all(f"#{h.pk}" in wallet_page for h in job_holds(job))
