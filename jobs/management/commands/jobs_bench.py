"""`manage.py jobs_bench`: what the jobs pages cost with many jobs and one large job.

Builds, in a database of its own (created, migrated and dropped as Django's test runner does, so
real data is never touched): one client with `--jobs` jobs (drafts written in bulk, a hundred
submitted through the services so their holds are real), and one job of `--milestones`
milestones and `--files` files in ten folders. Then prints each page's best server time and SQL
query count, and the time to upload and download a file of `--upload-mb` MB through the pages.
"""

import os
import time
import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandParser
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from credits import services as credits
from credits.actors import Actor
from credits.bench.pages import page_settings, signed_in_client, time_page
from credits.bench.scratch import scratch_database
from jobs import services as jobs
from jobs.models import File, Folder, Job, Milestone

ACTOR = Actor.system("jobs_bench")
SUBMITTED = 100
FOLDERS = 10


class Command(BaseCommand):
    help = (
        "Time the jobs pages (server time, SQL queries) for a client with many jobs and for one "
        "job with many milestones and files, and a large file's upload and download. Works in a "
        "database of its own (<name>_jobs_bench), created, migrated and dropped by the command."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--jobs", type=int, default=10_000, help="jobs of one client")
        parser.add_argument("--milestones", type=int, default=100, help="milestones of one job")
        parser.add_argument("--files", type=int, default=1_000, help="files of that job")
        parser.add_argument("--upload-mb", type=int, default=25, help="size of the timed upload")

    def handle(self, *args, jobs: int, milestones: int, files: int, upload_mb: int, **options):
        with scratch_database("jobs_bench") as name, page_settings():
            self.stdout.write(f"Scratch database {name}")
            client = get_user_model().objects.create_user(email="bench@example.com")
            credits.grant(
                wallet=client.wallet,
                amount=10_000_000,
                source="admin",
                actor=ACTOR,
                idempotency_key="bench-funds",
            )
            began = time.perf_counter()
            _many_jobs(client, jobs)
            big = _large_job(client, milestones, files)
            self.stdout.write(f"Built in {time.perf_counter() - began:.1f} s")
            browser = signed_in_client(client.wallet.pk)
            detail = reverse("jobs:detail", args=[big.pk])
            pages = [
                (f"my jobs ({jobs:,} jobs), first page", reverse("jobs:list")),
                ("my jobs, drafts by budget", reverse("jobs:list") + "?status=draft&sort=budget"),
                (f"my jobs, page {jobs // 25:,}", reverse("jobs:list") + f"?page={jobs // 25}"),
                ("statistics", reverse("jobs:statistics")),
            ] + [
                (
                    f"large job ({milestones} milestones, {files:,} files): {tab}",
                    f"{detail}?tab={tab}",
                )
                for tab in ("overview", "planning", "financial", "files", "links", "activity")
            ]
            folder = big.folders.order_by("pk").first()
            pages.append(("large job: one folder", f"{detail}?tab=files&folder={folder.pk}"))
            for label, url in pages:
                self.stdout.write(str(time_page(browser, label, url)))
            self._transfer(browser, big, upload_mb)

    def _transfer(self, browser, job: Job, megabytes: int) -> None:
        content = b"\x89PNG\r\n\x1a\n" + os.urandom(megabytes * 1024 * 1024 - 8)
        upload = SimpleUploadedFile("large.png", content, content_type="image/png")
        with override_settings(JOBS_MAX_UPLOAD_MB=max(megabytes, 1)):
            began = time.perf_counter()
            response = browser.post(reverse("jobs:file_upload", args=[job.pk]), {"file": upload})
            uploaded = time.perf_counter() - began
        stored = File.objects.filter(job=job, name="large.png").first()
        if response.status_code != 302 or stored is None:
            self.stdout.write(f"upload of {megabytes} MB refused: status {response.status_code}")
            return
        began = time.perf_counter()
        response = browser.get(reverse("jobs:file_download", args=[job.pk, stored.pk]))
        size = sum(len(chunk) for chunk in response.streaming_content)
        downloaded = time.perf_counter() - began
        same = "same bytes" if size == len(content) else f"{size} bytes, not {len(content)}"
        self.stdout.write(
            f"{megabytes} MB file: upload {uploaded:.2f} s, download {downloaded:.2f} s ({same})"
        )


def _many_jobs(client, count: int) -> None:
    """Drafts in bulk (two planned milestones each), then some submitted for real holds."""
    now = timezone.now()
    due = now.date() + timedelta(days=30)
    priorities = list(Job.Priority.values)
    rows = Job.objects.bulk_create(
        Job(
            client=client,
            title=f"Bench job {n}",
            priority=priorities[n % len(priorities)],
            budget=300,
            created_at=now - timedelta(minutes=n),
        )
        for n in range(count)
    )
    Milestone.objects.bulk_create(
        Milestone(job=job, position=p, title=f"Part {p}", due_date=due, amount=100 * p)
        for job in rows
        for p in (1, 2)
    )
    for job in rows[:SUBMITTED]:
        jobs.submit(job=job, by=client)


def _large_job(client, milestones: int, files: int) -> Job:
    due = timezone.now().date() + timedelta(days=60)
    job = jobs.create_draft(client=client, title="A large job", budget=milestones * 10)
    plans = [
        jobs.MilestonePlan(title=f"Milestone {n}", due_date=due, amount=10)
        for n in range(1, milestones + 1)
    ]
    jobs.plan_milestones(job=job, by=client, milestones=plans)
    jobs.submit(job=job, by=client)
    folders = [jobs.create_folder(job=job, by=client, name=f"Folder {n}") for n in range(FOLDERS)]
    stored = default_storage.save(f"jobs/{job.pk}/{uuid.uuid4().hex}", ContentFile(b"A brief."))
    File.objects.bulk_create(
        File(
            job=job,
            folder=None if n % (FOLDERS + 1) == FOLDERS else folders[n % (FOLDERS + 1)],
            name=f"file-{n}.txt",
            content=stored,
            size=8,
            content_type="text/plain",
            sha256="0" * 64,
            uploaded_by=client,
        )
        for n in range(files)
    )
    return Folder.objects.get(pk=folders[0].pk).job
