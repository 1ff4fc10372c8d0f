"""A job's files and folders: the client and the team upload files into folders, tidy them, and
remove what is no longer wanted, while the job is a draft or live (a closed job's files stay as
they were, for whoever reads them when a dispute comes).

An upload is judged by its bytes, never by its name: the type is sniffed from the content
(`filetype`), must be one we accept, and must be what the name's extension says, so a program
or script renamed `.png` is refused. Names are cleaned of paths and control characters; the
bytes are stored under a name of our own (a uuid), so two uploads of one name never collide.
"""

import hashlib
import re
import unicodedata
import uuid
from codecs import getincrementaldecoder

import filetype
from django.conf import settings
from django.db import IntegrityError, transaction

from jobs.errors import FileRefused, JobError, WrongStatus
from jobs.models import File, Folder, Job
from jobs.services.access import require_can_work_on
from jobs.services.log import Verb, record

TEXT = "text/plain"
# What a job accepts, by sniffed content type, and the name extensions each may carry. The
# zip-based office formats are listed apart from plain zip so that a name says what it holds.
ALLOWED_TYPES: dict[str, tuple[str, ...]] = {
    "image/png": ("png",),
    "image/apng": ("png", "apng"),
    "image/jpeg": ("jpg", "jpeg"),
    "image/gif": ("gif",),
    "image/webp": ("webp",),
    "application/pdf": ("pdf",),
    "application/zip": ("zip",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ("docx",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ("xlsx",),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": ("pptx",),
    "application/vnd.oasis.opendocument.text": ("odt",),
    "application/vnd.oasis.opendocument.spreadsheet": ("ods",),
    "application/vnd.oasis.opendocument.presentation": ("odp",),
    TEXT: ("txt", "md", "csv"),
}
ACCEPTED = "images (PNG, JPEG, GIF, WebP), PDF, zip and office documents, or plain text"
MAX_NAME_LENGTH = 150
MAX_FOLDER_DEPTH = 10
# Characters Windows refuses in a file name; replaced so a download saves anywhere.
UNSAFE_CHARACTERS = re.compile(r'[<>:"/\\|?*]')
WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{n}" for n in range(1, 10))} | {
    f"LPT{n}" for n in range(1, 10)
}


# --- folders -------------------------------------------------------------------------------------


def create_folder(*, job: Job, by, name: str, parent: Folder | None = None) -> Folder:
    """A new folder of the job, at the top or inside `parent` (a folder of the same job)."""
    require_can_work_on(job, by)
    name = _checked_folder_name(name)
    with transaction.atomic():
        job = _locked_open_job(job)
        if parent is not None:
            parent = _folder_of(job, parent.pk, field="parent")
            if _depth(parent) >= MAX_FOLDER_DEPTH:
                raise JobError(
                    f"Folders nest at most {MAX_FOLDER_DEPTH} deep: choose a higher one.",
                    field="parent",
                )
        _check_free(job, parent, name)
        return _saved(Folder(job=job, parent=parent, name=name))


def rename_folder(*, folder: Folder, by, name: str) -> Folder:
    require_can_work_on(folder.job, by)
    name = _checked_folder_name(name)
    with transaction.atomic():
        job = _locked_open_job(folder.job)
        folder = _folder_of(job, folder.pk, field="folder")
        if name != folder.name:
            _check_free(job, folder.parent, name)
            folder.name = name
            _saved(folder)
    return folder


def move_folder(*, folder: Folder, by, parent: Folder | None) -> Folder:
    """Move a folder (with all it holds) under `parent`, or to the top when None; never into
    itself or one of its own subfolders."""
    require_can_work_on(folder.job, by)
    with transaction.atomic():
        job = _locked_open_job(folder.job)
        folder = _folder_of(job, folder.pk, field="folder")
        if parent is not None:
            parent = _folder_of(job, parent.pk, field="parent")
            if folder.pk in _ancestor_ids(parent) | {parent.pk}:
                raise JobError(
                    f"A folder cannot go inside itself: {parent.name!r} is in {folder.name!r}.",
                    field="parent",
                )
            if _depth(parent) + _height(folder) > MAX_FOLDER_DEPTH:
                raise JobError(
                    f"Folders nest at most {MAX_FOLDER_DEPTH} deep: choose a higher one.",
                    field="parent",
                )
        if (parent.pk if parent else None) != folder.parent_id:
            _check_free(job, parent, folder.name)
            folder.parent = parent
            _saved(folder)
    return folder


def delete_folder(*, folder: Folder, by) -> None:
    """Remove an empty folder (no files, no subfolders): nothing is ever deleted by surprise."""
    require_can_work_on(folder.job, by)
    with transaction.atomic():
        job = _locked_open_job(folder.job)
        folder = _folder_of(job, folder.pk, field="folder")
        if folder.children.exists() or folder.files.exists():
            raise JobError(
                f"The folder {folder.name!r} is not empty: move or delete what it holds first.",
                field="folder",
            )
        folder.delete()


# --- files ---------------------------------------------------------------------------------------


def upload(*, job: Job, by, upload, folder: Folder | None = None) -> File:
    """Keep an uploaded file (a Django UploadedFile) in the job, in `folder` or at the top.

    The bytes are checked first, then stored, then recorded in one transaction; if the record
    cannot be made the stored bytes are removed again."""
    require_can_work_on(job, by)
    _check_size(upload)
    content_type, digest = _sniffed(upload)
    name = clean_name(upload.name or "", content_type)
    with transaction.atomic():  # a first look, so no bytes are stored for a closed job
        job = _locked_open_job(job)
        if folder is not None:
            _folder_of(job, folder.pk, field="folder")
    file = File(
        job=job,
        name=name,
        size=upload.size,
        content_type=content_type,
        sha256=digest,
        uploaded_by=by,
    )
    upload.seek(0)
    file.content.save(_key(), upload, save=False)
    try:
        with transaction.atomic():
            file.job = _locked_open_job(job)
            if folder is not None:
                file.folder = _folder_of(file.job, folder.pk, field="folder")
            file.save()
            record(file.job, Verb.FILE_ADDED, actor=by, file=name, size=upload.size)
    except BaseException:
        file.content.storage.delete(file.content.name)
        raise
    return file


def move_file(*, file: File, by, folder: Folder | None) -> File:
    """Put a file in another folder of its job (None: the top)."""
    require_can_work_on(file.job, by)
    with transaction.atomic():
        job = _locked_open_job(file.job)
        file = _file_of(job, file.pk)
        if folder is not None:
            folder = _folder_of(job, folder.pk, field="folder")
        file.folder = folder
        file.save(update_fields=["folder"])
    return file


def delete_file(*, file: File, by) -> None:
    """Remove a file that no delivery names (a delivered file is what was paid for: it stays).
    Its bytes go once the removal has committed, so a rollback loses nothing."""
    require_can_work_on(file.job, by)
    with transaction.atomic():
        job = _locked_open_job(file.job)
        file = _file_of(job, file.pk)
        if file.delivery_id is not None:
            delivery = file.delivery
            raise WrongStatus(
                f"{file.name!r} is part of delivery {delivery.number} of "
                f"{delivery.milestone.title!r}: it stays as it was delivered."
            )
        remove_bytes_after_commit([file])
        file.delete()
        record(job, Verb.FILE_REMOVED, actor=by, file=file.name)


def remove_bytes_after_commit(files) -> None:
    """Remove these files' stored bytes once the transaction deleting their rows commits (a
    rollback keeps both); call it before the rows go."""
    stored = [(file.content.storage, file.content.name) for file in files]

    def remove() -> None:
        for storage, name in stored:
            storage.delete(name)

    transaction.on_commit(remove)


# --- names and content ---------------------------------------------------------------------------


def clean_name(raw: str, content_type: str) -> str:
    """The uploader's name made safe to show and to save anywhere: no folders, no control or
    invisible characters (a right-to-left override can disguise `gpj.exe`), no leading dots,
    at most MAX_NAME_LENGTH characters, and an extension the content matches (added when the
    name has none)."""
    name = unicodedata.normalize("NFC", re.split(r"[/\\]", raw)[-1])
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = " ".join(UNSAFE_CHARACTERS.sub("_", name).split()).lstrip(". ").rstrip(". ")
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        stem, extension = name, ""
    allowed = ALLOWED_TYPES[content_type]
    if not extension:
        extension = allowed[0]
    elif extension.lower() not in allowed:
        raise FileRefused(
            f"The file's content is {_described(content_type)} but its name ends in "
            f".{extension}: rename it to end in .{allowed[0]}, or upload the file it names."
        )
    stem = stem.strip() or "file"
    if stem.upper() in WINDOWS_DEVICES:
        stem = f"_{stem}"
    return f"{stem[: MAX_NAME_LENGTH - len(extension) - 1].rstrip()}.{extension}"


def _check_size(upload) -> None:
    limit = settings.JOBS_MAX_UPLOAD_MB * 1024 * 1024
    if not upload.size:
        raise FileRefused("The file is empty: choose one with something in it.")
    if upload.size > limit:
        raise FileRefused(
            f"The file is {upload.size / 1024 / 1024:,.1f} MB; a job takes files of at most "
            f"{settings.JOBS_MAX_UPLOAD_MB:,} MB."
        )


def _sniffed(upload) -> tuple[str, str]:
    """The content type the bytes show (one of ALLOWED_TYPES) and their sha256, in one read."""
    upload.seek(0)
    head = upload.read(8192)
    kind = filetype.guess(head)
    digest = hashlib.sha256()
    text = kind is None
    decoder = getincrementaldecoder("utf-8")()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
        if text:
            text = b"\x00" not in chunk and _decodes(decoder, chunk)
    if kind is not None:
        if kind.mime not in ALLOWED_TYPES:
            raise FileRefused(
                f"Files of this type ({kind.extension}) are not accepted: upload {ACCEPTED}."
            )
        return kind.mime, digest.hexdigest()
    if not (text and _decodes(decoder, b"", final=True)):
        raise FileRefused(f"The file's content is not a type we accept: upload {ACCEPTED}.")
    return TEXT, digest.hexdigest()


def _decodes(decoder, chunk: bytes, *, final: bool = False) -> bool:
    try:
        decoder.decode(chunk, final=final)
    except UnicodeDecodeError:
        return False
    return True


def _described(content_type: str) -> str:
    return "plain text" if content_type == TEXT else ALLOWED_TYPES[content_type][0].upper()


def _key() -> str:
    return uuid.uuid4().hex


# --- guards --------------------------------------------------------------------------------------


def _locked_open_job(job: Job) -> Job:
    locked = Job.objects.select_for_update().get(pk=job.pk)
    if locked.status in Job.CLOSED:
        raise WrongStatus(
            f"Job #{locked.pk} is {locked.get_status_display().lower()}: its files can no "
            "longer change."
        )
    return locked


def _folder_of(job: Job, folder_id, *, field: str) -> Folder:
    folder = Folder.objects.filter(job=job, pk=folder_id).first()
    if folder is None:
        raise JobError("Choose a folder of this job.", field=field)
    return folder


def _file_of(job: Job, file_id) -> File:
    file = File.objects.filter(job=job, pk=file_id).select_related("delivery__milestone").first()
    if file is None:
        raise JobError("Choose a file of this job.", field="file")
    return file


def _checked_folder_name(name) -> str:
    name = " ".join(name.split()) if isinstance(name, str) else ""
    if not name:
        raise JobError("Give the folder a name.", field="name")
    if len(name) > Folder._meta.get_field("name").max_length:
        raise JobError("A folder's name is at most 100 characters.", field="name")
    if name in (".", "..") or UNSAFE_CHARACTERS.search(name) or _has_control(name):
        raise JobError(
            'A folder\'s name cannot be "." or ".." nor hold / \\ : * ? " < > | or control '
            "characters.",
            field="name",
        )
    return name


def _has_control(name: str) -> bool:
    return any(unicodedata.category(ch).startswith("C") for ch in name)


def _check_free(job: Job, parent: Folder | None, name: str) -> None:
    if Folder.objects.filter(job=job, parent=parent, name=name).exists():
        where = f"in {parent.name!r}" if parent else "at the top"
        raise JobError(f"There is already a folder {name!r} {where}.", field="name")


def _saved(folder: Folder) -> Folder:
    """Save, turning a clash with a folder made at the same moment into the same refusal."""
    try:
        with transaction.atomic():
            folder.save()
    except IntegrityError:
        raise JobError("A folder of that name is already here.", field="name") from None
    return folder


def _ancestor_ids(folder: Folder) -> set[int]:
    found: set[int] = set()
    parent_id = folder.parent_id
    while parent_id is not None and parent_id not in found:
        found.add(parent_id)
        parent_id = Folder.objects.filter(pk=parent_id).values_list("parent_id", flat=True)[0]
    return found


def _depth(folder: Folder) -> int:
    """How deep a folder is: 1 at the top."""
    return len(_ancestor_ids(folder)) + 1


def _height(folder: Folder) -> int:
    """How many levels a folder and its subfolders span: 1 when it has none."""
    level, height = [folder.pk], 0
    while level:
        height += 1
        level = list(Folder.objects.filter(parent_id__in=level).values_list("pk", flat=True))
    return height
