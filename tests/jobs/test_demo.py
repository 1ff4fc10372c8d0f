"""`manage.py seed_demo` adds jobs in every state, with links and files, through the services."""

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts.models import User
from credits.reconciliation import reconcile
from jobs.models import Activity, File, Job, Link, Milestone
from jobs.services import may_deliver

pytestmark = pytest.mark.django_db


def jobs_snapshot():
    return (
        sorted(Job.objects.values_list("client__email", "title", "status")),
        sorted(Milestone.objects.values_list("job__title", "title", "status")),
        File.objects.count(),
        Link.objects.count(),
        Activity.objects.count(),
    )


def test_the_demo_has_a_job_in_every_state_and_a_milestone_accepted_in_part(capsys):
    call_command("seed_demo", force=True)

    assert set(Job.objects.values_list("status", flat=True)) == set(Job.Status.values)
    statuses = set(Milestone.objects.values_list("status", flat=True))
    assert {"planned", "funded", "submitted", "changes_requested", "accepted"} <= statuses
    assert {"accepted_in_part", "cancelled"} <= statuses
    assert "Demo jobs:" in capsys.readouterr().out
    assert reconcile().clean


def test_the_demo_jobs_have_links_and_small_files_of_the_types_they_say(capsys):
    call_command("seed_demo", force=True)

    starts = {"image/png": b"\x89PNG\r\n\x1a\n", "application/pdf": b"%PDF-", "text/plain": b""}
    files = list(File.objects.all())
    assert {f.content_type for f in files} == set(starts)
    for file in files:
        content = file.content.open("rb").read()
        assert content.startswith(starts[file.content_type])
        assert len(content) == file.size
    assert Link.objects.filter(delivery__isnull=True).exists()
    assert Link.objects.filter(delivery__isnull=False).exists()
    assert File.objects.filter(delivery__isnull=False).exists()


def test_seed_demo_twice_leaves_the_same_jobs(capsys):
    call_command("seed_demo", force=True)
    first = jobs_snapshot()
    call_command("seed_demo", force=True)

    assert jobs_snapshot() == first
    assert "Demo jobs: already there, left unchanged." in capsys.readouterr().out


def test_a_demo_staff_member_who_is_not_a_superuser_delivers_the_demo_jobs(client):
    call_command("seed_demo", force=True)
    checker = User.objects.get(email="checker@creditdesk.test")

    assert not checker.is_superuser
    assert may_deliver(checker)
    delivered_by = set(Activity.objects.filter(verb="delivered").values_list("actor", flat=True))
    assert delivered_by == {checker.pk}


def test_the_demo_clients_see_their_jobs_in_the_admin_of_staff(client):
    call_command("seed_demo", force=True)
    client.force_login(User.objects.get(email="admin@creditdesk.test"))
    job = Job.objects.get(title="Brand refresh")

    assert client.get(reverse("admin:jobs_job_change", args=[job.pk])).status_code in (200, 302)
