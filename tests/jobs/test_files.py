"""A job's files and folders through their services: uploads judged by their bytes, names made
safe, duplicates kept apart, folders that never loop, and nothing changed by a refusal."""

import hashlib
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs import services as jobs
from jobs.errors import FileRefused, JobError, JobNotFound, WrongStatus
from jobs.models import Activity, File, Folder
from tests.factories import UserFactory
from tests.jobs.conftest import delivered, draft_job, milestones, open_job
from tests.jobs.files import (
    LINUX_PROGRAM,
    PDF,
    PNG,
    SHELL_SCRIPT,
    WINDOWS_PROGRAM,
    docx,
    stored_bytes,
    upload,
    uploaded,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]


# --- uploads -------------------------------------------------------------------------------------


def test_an_upload_keeps_the_bytes_their_sniffed_type_size_and_digest(client_user):
    job = draft_job(client_user)

    file = upload(job, client_user, "logo.png", PNG)

    assert (file.name, file.content_type, file.size) == ("logo.png", "image/png", len(PNG))
    assert file.sha256 == hashlib.sha256(PNG).hexdigest()
    assert stored_bytes(file) == PNG
    assert Activity.objects.filter(job=job, verb=Activity.Verb.FILE_ADDED).count() == 1


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("brief.pdf", PDF, "application/pdf"),
        (
            "brief.docx",
            docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        ("notes.md", "# Brand notes · ünïcode\n".encode(), "text/plain"),
        ("palette.csv", b"name,hex\nnavy,#001f3f\n", "text/plain"),
        ("PHOTO.JPG", b"\xff\xd8\xff\xe0" + b"\x00" * 64, "image/jpeg"),
    ],
)
def test_accepted_types_are_recognised_by_content(client_user, name, content, content_type):
    file = upload(draft_job(client_user), client_user, name, content)

    assert (file.name, file.content_type) == (name, content_type)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (WINDOWS_PROGRAM, "Files of this type (exe) are not accepted"),
        (LINUX_PROGRAM, "Files of this type (elf) are not accepted"),
        (SHELL_SCRIPT, "The file's content is plain text but its name ends in .png"),
        (PDF, "The file's content is PDF but its name ends in .png"),
    ],
)
def test_a_disguised_file_is_refused_and_nothing_is_kept(client_user, content, why, settings):
    job = draft_job(client_user)

    with pytest.raises(FileRefused, match=re.escape(why)):
        upload(job, client_user, "holiday.png", content)

    assert not File.objects.exists()
    assert not Activity.objects.filter(verb=Activity.Verb.FILE_ADDED).exists()


def test_bytes_that_are_neither_an_accepted_type_nor_text_are_refused(client_user):
    job = draft_job(client_user)

    with pytest.raises(FileRefused, match="not a type we accept"):
        upload(job, client_user, "data.txt", b"text, then a NUL\x00 and \xff\xfe bytes")
    with pytest.raises(FileRefused, match="not a type we accept"):
        upload(job, client_user, "latin1.txt", "café".encode("latin-1"))


def test_an_oversized_file_is_refused(client_user, settings):
    settings.JOBS_MAX_UPLOAD_MB = 1
    job = draft_job(client_user)

    with pytest.raises(FileRefused, match=r"1\.0 MB; a job takes files of at most 1 MB"):
        upload(job, client_user, "big.txt", b"a" * (1024 * 1024 + 1))
    upload(job, client_user, "just-fits.txt", b"a" * (1024 * 1024))

    assert list(File.objects.values_list("name", flat=True)) == ["just-fits.txt"]


def test_an_empty_file_is_refused(client_user):
    with pytest.raises(FileRefused, match="empty"):
        upload(draft_job(client_user), client_user, "empty.txt", b"")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/passwd.txt", "passwd.txt"),
        ("C:\\Users\\ann\\brief.txt", "brief.txt"),
        (".hidden.txt", "hidden.txt"),
        ("...txt", "txt.txt"),
        ("notes", "notes.txt"),
        ("bad\x00name\x1b[31m.txt", "badname[31m.txt"),
        ("gpj\u202e.txt", "gpj.txt"),
        ('what?<now>:"|*.txt', "what__now_____.txt"),
        ("  many   spaces  .txt", "many spaces.txt"),
        ("CON.txt", "_CON.txt"),
        ("x" * 300 + ".txt", "x" * 146 + ".txt"),
    ],
)
def test_names_are_sanitised_and_keep_their_extension(client_user, given, kept):
    file = upload(draft_job(client_user), client_user, given, b"hello")

    assert file.name == kept
    assert "/" not in file.content.name.removeprefix(f"jobs/{file.job_id}/")


def test_duplicates_are_kept_apart_under_distinct_stored_names(client_user):
    job = draft_job(client_user)

    first = upload(job, client_user, "logo.png", PNG)
    second = upload(job, client_user, "logo.png", PNG)

    assert first.name == second.name == "logo.png"
    assert first.content.name != second.content.name
    assert first.content.name.startswith(f"jobs/{job.pk}/")
    assert "logo" not in first.content.name
    assert stored_bytes(first) == stored_bytes(second) == PNG


def test_the_team_may_upload_and_anyone_else_is_told_the_job_does_not_exist(client_user, deliverer):
    job = open_job(client_user, 600)
    upload(job, deliverer, "mockup.png")

    with pytest.raises(JobNotFound):
        upload(job, UserFactory(), "mine.png")
    assert File.objects.count() == 1


def test_a_closed_job_takes_no_files_and_keeps_its_own(client_user):
    job = open_job(client_user, 600)
    kept = upload(job, client_user)
    jobs.cancel_job(job=job, by=client_user)

    with pytest.raises(WrongStatus, match="cancelled"):
        upload(job, client_user, "late.png")
    with pytest.raises(WrongStatus):
        jobs.delete_file(file=kept, by=client_user)
    assert list(File.objects.all()) == [kept]


def test_a_file_goes_into_a_folder_of_the_same_job_only(client_user):
    job, other = draft_job(client_user), draft_job(client_user, title="Another")
    theirs = jobs.create_folder(job=other, by=client_user, name="Assets")

    with pytest.raises(JobError, match="Choose a folder of this job") as refusal:
        upload(job, client_user, folder=theirs)

    assert refusal.value.field == "folder"
    assert not File.objects.exists()


def test_another_storage_backend_is_a_setting_away(client_user, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }

    file = upload(draft_job(client_user), client_user)

    assert type(file.content.storage._wrapped).__name__ == "InMemoryStorage"
    assert stored_bytes(File.objects.get()) == PNG


def test_a_refused_record_leaves_no_bytes_behind(client_user, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    job = draft_job(client_user)
    folder = jobs.create_folder(job=job, by=client_user, name="Gone")
    stale = Folder(pk=folder.pk, job=job)
    folder.delete()

    with pytest.raises(JobError):
        jobs.upload(job=job, by=client_user, upload=uploaded(), folder=stale)

    assert not any(path.is_file() for path in tmp_path.rglob("*"))


# --- moving and deleting files -------------------------------------------------------------------


def test_files_move_between_folders_and_to_the_top(client_user):
    job = draft_job(client_user)
    assets = jobs.create_folder(job=job, by=client_user, name="Assets")
    file = upload(job, client_user)

    jobs.move_file(file=file, by=client_user, folder=assets)
    assert File.objects.get().folder == assets
    jobs.move_file(file=file, by=client_user, folder=None)
    assert File.objects.get().folder is None


def test_deleting_a_file_removes_its_bytes_and_logs_it(
    client_user, django_capture_on_commit_callbacks
):
    job = draft_job(client_user)
    file = upload(job, client_user)
    storage, stored = file.content.storage, file.content.name

    with django_capture_on_commit_callbacks(execute=True):
        jobs.delete_file(file=file, by=client_user)

    assert not File.objects.exists()
    assert not storage.exists(stored)
    assert Activity.objects.filter(job=job, verb=Activity.Verb.FILE_REMOVED).count() == 1


def test_deleting_a_draft_takes_its_folders_files_and_bytes(
    client_user, django_capture_on_commit_callbacks
):
    job = draft_job(client_user)
    top = jobs.create_folder(job=job, by=client_user, name="Top")
    inner = jobs.create_folder(job=job, by=client_user, name="Inner", parent=top)
    file = upload(job, client_user, folder=inner)
    storage, stored = file.content.storage, file.content.name

    with django_capture_on_commit_callbacks(execute=True):
        jobs.delete_draft(job=job, by=client_user)

    assert (Folder.objects.count(), File.objects.count()) == (0, 0)
    assert not storage.exists(stored)


def test_a_delivered_file_cannot_be_deleted(client_user, deliverer):
    job = open_job(client_user, 600)
    file = upload(job, deliverer, "final.png")
    jobs.deliver(milestone=milestones(job)[0], by=deliverer, message="Done.", files=[file])

    with pytest.raises(WrongStatus, match="part of delivery 1 of 'Milestone 1'"):
        jobs.delete_file(file=file, by=client_user)
    assert File.objects.filter(pk=file.pk).exists()


def test_another_users_file_is_a_job_they_cannot_see(client_user):
    file = upload(draft_job(client_user), client_user)

    with pytest.raises(JobNotFound):
        jobs.delete_file(file=file, by=UserFactory())
    with pytest.raises(JobNotFound):
        jobs.move_file(file=file, by=UserFactory(), folder=None)
    assert File.objects.filter(pk=file.pk).exists()


# --- folders -------------------------------------------------------------------------------------


def test_folders_nest_rename_and_refuse_a_name_already_there(client_user):
    job = draft_job(client_user)
    brand = jobs.create_folder(job=job, by=client_user, name="  Brand   assets ")
    logos = jobs.create_folder(job=job, by=client_user, name="Logos", parent=brand)

    assert brand.name == "Brand assets"
    with pytest.raises(JobError, match="already a folder 'Logos' in 'Brand assets'") as clash:
        jobs.create_folder(job=job, by=client_user, name="Logos", parent=brand)
    assert clash.value.field == "name"
    jobs.create_folder(job=job, by=client_user, name="Logos")  # at the top: no clash
    with pytest.raises(JobError, match="already a folder 'Logos' at the top"):
        jobs.rename_folder(folder=brand, by=client_user, name="Logos")

    jobs.rename_folder(folder=logos, by=client_user, name="Marks")
    assert sorted(Folder.objects.values_list("name", flat=True)) == [
        "Brand assets",
        "Logos",
        "Marks",
    ]


@pytest.mark.parametrize("name", ["", "   ", "..", "a/b", "a\\b", "bell\x07", "x" * 101])
def test_a_bad_folder_name_is_refused_beside_its_field(client_user, name):
    job = draft_job(client_user)

    with pytest.raises(JobError) as refusal:
        jobs.create_folder(job=job, by=client_user, name=name)

    assert refusal.value.field == "name"
    assert not Folder.objects.exists()


def test_a_folder_never_moves_into_itself_or_its_subfolders(client_user):
    job = draft_job(client_user)
    top = jobs.create_folder(job=job, by=client_user, name="Top")
    middle = jobs.create_folder(job=job, by=client_user, name="Middle", parent=top)
    bottom = jobs.create_folder(job=job, by=client_user, name="Bottom", parent=middle)

    for target in (top, middle, bottom):
        with pytest.raises(JobError, match="cannot go inside itself") as refusal:
            jobs.move_folder(folder=top, by=client_user, parent=target)
        assert refusal.value.field == "parent"

    jobs.move_folder(folder=bottom, by=client_user, parent=None)
    jobs.move_folder(folder=top, by=client_user, parent=bottom)
    top.refresh_from_db()
    assert top.parent == bottom


def test_moving_a_folder_where_its_name_is_taken_is_refused(client_user):
    job = draft_job(client_user)
    drafts = jobs.create_folder(job=job, by=client_user, name="Drafts")
    final = jobs.create_folder(job=job, by=client_user, name="Final")
    jobs.create_folder(job=job, by=client_user, name="Drafts", parent=final)

    with pytest.raises(JobError, match="already a folder 'Drafts' in 'Final'"):
        jobs.move_folder(folder=drafts, by=client_user, parent=final)
    drafts.refresh_from_db()
    assert drafts.parent is None


def test_folders_nest_at_most_ten_deep(client_user):
    job = draft_job(client_user)
    parent = None
    for depth in range(1, 11):
        parent = jobs.create_folder(job=job, by=client_user, name=f"Level {depth}", parent=parent)

    with pytest.raises(JobError, match="at most 10 deep"):
        jobs.create_folder(job=job, by=client_user, name="Level 11", parent=parent)
    second = jobs.create_folder(job=job, by=client_user, name="Second")
    with pytest.raises(JobError, match="at most 10 deep"):
        jobs.move_folder(folder=second, by=client_user, parent=parent)


def test_only_an_empty_folder_can_be_deleted(client_user):
    job = draft_job(client_user)
    full = jobs.create_folder(job=job, by=client_user, name="Full")
    holder = jobs.create_folder(job=job, by=client_user, name="Holder")
    jobs.create_folder(job=job, by=client_user, name="Inside", parent=holder)
    upload(job, client_user, folder=full)
    empty = jobs.create_folder(job=job, by=client_user, name="Empty")

    for folder in (full, holder):
        with pytest.raises(JobError, match="is not empty"):
            jobs.delete_folder(folder=folder, by=client_user)
    jobs.delete_folder(folder=empty, by=client_user)

    assert sorted(Folder.objects.values_list("name", flat=True)) == ["Full", "Holder", "Inside"]


def test_folders_of_another_job_or_user_are_refused(client_user):
    job, other = draft_job(client_user), draft_job(client_user, title="Another")
    theirs = jobs.create_folder(job=other, by=client_user, name="Elsewhere")
    mine = jobs.create_folder(job=job, by=client_user, name="Mine")

    with pytest.raises(JobError, match="Choose a folder of this job"):
        jobs.create_folder(job=job, by=client_user, name="Child", parent=theirs)
    with pytest.raises(JobError, match="Choose a folder of this job"):
        jobs.move_folder(folder=mine, by=client_user, parent=theirs)
    with pytest.raises(JobNotFound):
        jobs.create_folder(job=job, by=UserFactory(), name="Intruder")
    with pytest.raises(JobNotFound):
        jobs.delete_folder(folder=mine, by=UserFactory())


def test_a_delivered_milestone_still_lets_the_client_add_files(client_user, deliverer):
    job = open_job(client_user, 600, 400)
    delivered(job, deliverer)

    file = jobs.upload(
        job=job, by=client_user, upload=SimpleUploadedFile("feedback.txt", b"Looks good")
    )

    assert file.content_type == "text/plain"
