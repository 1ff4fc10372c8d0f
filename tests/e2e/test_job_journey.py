"""End to end, in headless Chromium: a client writes a job of two milestones with a file and
submits it (the budget reserved on the dashboard); staff deliver; the client asks for changes;
staff deliver again; the client accepts (the capture shows in the history); the second milestone
is accepted by `jobs_autoaccept` when its review window ends, and the job is complete. axe-core
finds no serious or critical accessibility problem on the way."""

import re
import shutil
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from jobs.models import Job
from tests.clients import enrol_two_factor
from tests.credits.conftest import fund
from tests.e2e.conftest import accessibility_violations
from tests.e2e.test_dispute_journey import sign_in
from tests.factories import StaffFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a live server needs transactional tests, whose SQLite flush the ledger's "
        "append-only triggers refuse; runs on PostgreSQL (DATABASE_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]


def main_text(page) -> str:
    return page.locator("main").inner_text()


def test_a_client_commissions_a_job_and_pays_it_milestone_by_milestone(
    live_server, browser, settings, tmp_path
):
    settings.SECURE_SSL_REDIRECT = False
    client_user = UserFactory(email="clara@example.com", name="Clara")
    fund(client_user.wallet, 1500)
    staff = StaffFactory(
        email="dev@example.com", name="Dev", is_superuser=False, permissions=["jobs.deliver"]
    )
    staff_secret = enrol_two_factor(staff)
    base = live_server.url
    settings.SITE_URL = base
    problems: list[str] = []

    # The client writes the draft, section by section.
    client = browser.new_page()
    sign_in(client, base, "clara@example.com")
    client.goto(f"{base}/jobs/")
    problems += accessibility_violations(client)
    client.goto(f"{base}/jobs/new/")
    client.get_by_label("Title").fill("A new logo")
    client.get_by_role("button", name="Save and continue").click()
    client.wait_for_url(re.compile(r"/jobs/\d+/edit/business/"))
    job_id = int(re.search(r"/jobs/(\d+)/", client.url).group(1))
    edit = f"{base}/jobs/{job_id}/edit"

    client.goto(f"{edit}/financial/")
    client.get_by_label("Budget (credits)").fill("1000")
    client.get_by_role("button", name="Save and continue").click()

    client.goto(f"{edit}/planning/")
    client.get_by_role("button", name="Add a milestone row").click()
    due = (timezone.now().date() + timedelta(days=21)).isoformat()
    for row, (title, amount) in enumerate([("Sketches", "600"), ("Final files", "400")]):
        client.locator(f"[name=milestones-{row}-title]").fill(title)
        client.locator(f"[name=milestones-{row}-due_date]").fill(due)
        client.locator(f"[name=milestones-{row}-amount]").fill(amount)
    client.get_by_role("button", name="Save milestones").click()
    problems += accessibility_violations(client)

    brief = tmp_path / "brief.txt"
    brief.write_text("Round, blue, friendly.")
    client.goto(f"{base}/jobs/{job_id}/?tab=files")
    client.get_by_label("File to upload").set_input_files(str(brief))
    client.get_by_role("button", name="Upload", exact=True).click()
    client.get_by_role("link", name="brief.txt").first.wait_for()
    problems += accessibility_violations(client)

    client.goto(f"{edit}/review/")
    client.get_by_role("button", name="Submit the job and reserve 1,000 credits").click()
    client.wait_for_url(re.compile(rf"/jobs/{job_id}/"))
    client.goto(f"{base}/dashboard/")
    dashboard = main_text(client)
    assert re.search(r"Available\s+500", dashboard), dashboard
    assert re.search(r"Reserved by open holds\s+1,000", dashboard), dashboard

    # Staff deliver the first milestone from the work queue.
    team = browser.new_page()
    sign_in(team, base, "dev@example.com", totp_secret=staff_secret)
    team.goto(f"{base}/jobs/queue/")
    assert "A new logo" in main_text(team)
    problems += accessibility_violations(team)

    def deliver(title: str, message: str, *, file: str | None = None) -> None:
        team.goto(f"{base}/jobs/{job_id}/?tab=planning")
        team.get_by_role("link", name=f"Deliver {title}").click()
        team.get_by_label("What you deliver").fill(message)
        if file:  # a file belongs to the one delivery that sent it
            team.get_by_label(file).check()
        team.get_by_label("Link label").fill("Preview")
        team.get_by_label("Link address").fill("https://example.com/preview")
        team.get_by_role("button", name="Deliver the milestone").click()
        team.wait_for_url(re.compile(rf"/jobs/{job_id}/"))

    deliver("Sketches", "Three sketches.", file="brief.txt")
    problems += accessibility_violations(team)

    # The client asks for changes; staff deliver again; the client accepts.
    client.goto(f"{base}/jobs/{job_id}/?tab=planning")
    problems += accessibility_violations(client)
    client.get_by_label("What should change?").fill("Make it rounder.")
    client.get_by_role("button", name="Request changes").click()
    client.get_by_text("Changes requested").first.wait_for()

    deliver("Sketches", "Rounder sketches.")
    client.goto(f"{base}/jobs/{job_id}/?tab=planning")
    client.get_by_role("button", name="Accept and pay 600 credits").click()
    client.wait_for_url(re.compile(rf"/jobs/{job_id}/"))
    client.goto(f"{base}/dashboard/history/")
    assert "Sketches" in main_text(client)
    problems += accessibility_violations(client)

    # The second milestone is delivered, the client stays silent, the clock accepts it.
    deliver("Final files", "The final files.")
    with time_machine.travel(timezone.now() + timedelta(days=settings.JOBS_REVIEW_DAYS, hours=1)):
        call_command("jobs_autoaccept")

    client.goto(f"{base}/jobs/{job_id}/?tab=activity")
    activity = main_text(client)
    assert "accepted the milestone automatically" in activity.lower()
    assert "Completed" in main_text(client)
    problems += accessibility_violations(client)
    client.goto(f"{base}/dashboard/")
    assert re.search(r"Available\s+500", main_text(client))
    assert re.search(r"Reserved by open holds\s+0", main_text(client))

    assert Job.objects.get(pk=job_id).status == Job.Status.COMPLETED
    assert problems == []
