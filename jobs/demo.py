"""Demo jobs for `manage.py seed_demo`: one in every state the pages show (a draft, an open job,
one with a delivery in review, one waiting for changes, one accepted in part, a completed and a
cancelled one), with links and a few small files, every step taken through jobs.services by the
person who would take it. A demo staff member (the checker) may deliver jobs.

It runs after the shop's demo (`SEED_AFTER`), whose purchases pay for these jobs, and before the
ledger's, whose last block (credits that expire soon) the jobs' holds must not earmark.
"""

import hashlib
import struct
import zlib
from datetime import timedelta

from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.models import User
from jobs import services
from jobs.models import File, Job
from jobs.services import MilestonePlan
from jobs.services.log import Verb, record

SEED_AFTER = ("billing",)
DELIVERER = "checker@creditdesk.test"
CLIENTS = ("alice@creditdesk.test", "bob@creditdesk.test")


def seed(stdout) -> None:
    """Create the demo jobs once: a demo client who has jobs is left as they are."""
    alice = User.objects.filter(email=CLIENTS[0]).first()
    bob = User.objects.filter(email=CLIENTS[1]).first()
    team = User.objects.filter(email=DELIVERER).first()
    if alice is None or bob is None or team is None:
        return
    team.user_permissions.add(
        Permission.objects.get(content_type__app_label="jobs", codename="deliver")
    )
    if Job.objects.filter(client__email__in=CLIENTS).exists():
        stdout.write("Demo jobs: already there, left unchanged.")
        return
    team = User.objects.get(pk=team.pk)  # without the permission cache of before
    _seed_alice(alice, team)
    _seed_bob(bob, team)
    stdout.write(
        "Demo jobs: alice and bob have a draft, an open job, a delivery in review, changes "
        f"asked, one accepted in part, a completed and a cancelled job; {DELIVERER} delivers."
    )


def _seed_alice(alice: User, team: User) -> None:
    draft = services.create_draft(
        client=alice,
        title="Spring newsletter template",
        summary="A reusable e-mail template for the spring campaign.",
        category=Job.Category.DESIGN,
        budget=120,
    )
    services.plan_milestones(
        job=draft,
        by=alice,
        milestones=[
            MilestonePlan(title="Template", due_date=_in_days(30), amount=120),
        ],
    )
    brand = _job(
        alice,
        "Brand refresh",
        [("Moodboard", 7, 80), ("Logo and colours", 21, 120)],
        priority=Job.Priority.HIGH,
        company="Example Bakery",
        website="https://bakery.example.com",
    )
    services.add_link(
        job=brand, by=alice, label="Current website", url="https://bakery.example.com"
    )
    brief = _file(brand, alice, "brief.txt", b"Warm, friendly, hand-made. No gradients.\n")
    board = _file(brand, team, "moodboard.png", _png())
    services.assign(job=brand, assignee=team, by=team)
    _deliver(brand, team, 0, "The moodboard, from your brief.", files=[board, brief])

    copy = _job(alice, "Landing page copy", [("First draft", 10, 60)])
    _deliver(copy, team, 0, "A first draft of the copy.")
    services.request_changes(
        milestone=copy.milestones.get(), by=alice, reason="Shorter headline, please."
    )


def _seed_bob(bob: User, team: User) -> None:
    _job(bob, "Product photos", [("Twelve shots", 14, 90)], category=Job.Category.OTHER)

    logo = _job(bob, "Logo design", [("Logo", 7, 150)], category=Job.Category.DESIGN)
    _file(logo, team, "logo-sheet.pdf", _pdf())
    _deliver(logo, team, 0, "Three logo options, in the PDF.", files=list(logo.files.all()))
    services.accept(milestone=logo.milestones.get(), by=bob)

    icons = _job(bob, "Icon set", [("Twenty icons", 7, 100), ("Animated icons", 28, 80)])
    _deliver(icons, team, 0, "Twenty icons, as SVG.")
    services.accept_in_part(
        milestone=icons.milestones.get(position=1),
        by=bob,
        amount=70,
        reason="Six icons were missing.",
    )

    podcast = _job(bob, "Podcast intro", [("Jingle", 10, 50)], category=Job.Category.VIDEO)
    services.cancel_job(job=podcast, by=bob, reason="The podcast is on hold.")


def _job(client: User, title: str, plan: list[tuple[str, int, int]], **fields) -> Job:
    """A submitted job of `client`'s: its milestones (title, days until due, credits)."""
    job = services.create_draft(
        client=client, title=title, budget=sum(amount for _, _, amount in plan), **fields
    )
    services.plan_milestones(
        job=job,
        by=client,
        milestones=[
            MilestonePlan(title=name, due_date=_in_days(days), amount=amount)
            for name, days, amount in plan
        ],
    )
    return services.submit(job=job, by=client)


def _in_days(days: int):
    return timezone.now().date() + timedelta(days=days)


def _deliver(job: Job, team: User, index: int, message: str, files=()) -> None:
    milestone = job.milestones.order_by("position")[index]
    links = [] if files else [("Preview", f"https://preview.example.com/jobs/{job.pk}")]
    services.deliver(milestone=milestone, by=team, message=message, files=files, links=links)


def _file(job: Job, by: User, name: str, content: bytes) -> File:
    """Upload through jobs.services.files when the app has it; until then, the File row and
    its bytes are saved as the upload service would."""
    try:
        from jobs.services.files import upload
    except ImportError:
        upload = None
    if upload is not None:
        return upload(job=job, by=by, upload=SimpleUploadedFile(name, content))
    kinds = {"png": "image/png", "pdf": "application/pdf", "txt": "text/plain"}
    file = File(
        job=job,
        name=name,
        size=len(content),
        content_type=kinds[name.rsplit(".", 1)[1]],
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=by,
    )
    file.content.save(name, ContentFile(content), save=True)
    record(job, Verb.FILE_ADDED, actor=by, name=name, size=len(content))
    return file


def _png() -> bytes:
    """A valid two-by-two PNG (warm orange), made here so the demo carries no binary files."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\xf0\x90\x30" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _pdf() -> bytes:
    """A valid one-page PDF saying "Logo options", with its cross-reference table."""
    stream = b"BT /F1 24 Tf 72 720 Td (Logo options) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return out
