"""What the Files tab of a job shows: one folder's subfolders and files, the way back up, and
whether the viewer may change them. Reads only; jobs.services.files makes every change."""

from django.core.paginator import Paginator
from django.db.models import Count

from core.fields import is_ascii_digits
from jobs.models import File, Folder, Job
from jobs.services.access import may_see, require_can_see

FILES_PER_PAGE = 50


def may_manage_files(job: Job, user) -> bool:
    """The client and the team change a job's files until the job is closed."""
    return may_see(job, user) and job.status not in Job.CLOSED


def files_tab(job: Job, user, folder_id=None, *, page=None) -> dict:
    """The context of jobs/_files.html, every key beginning `files_` so it sits beside any
    page's own: the folder shown (None: the top; an unknown one shows the top), its
    breadcrumbs from the top, its subfolders (with how much each holds), a page of its files
    (with their size in KB), and whether the viewer may manage them."""
    from jobs.file_forms import FolderForm, UploadForm  # forms sit above selectors

    require_can_see(job, user)
    folders = {folder.pk: folder for folder in _folders_with_counts(job)}
    folder = folders.get(int(folder_id)) if _is_id(folder_id) else None
    files = (
        File.objects.filter(job=job, folder=folder)
        .select_related("uploaded_by", "delivery__milestone")
        .order_by("name", "id")
    )
    files_page = Paginator(files, FILES_PER_PAGE).get_page(page)
    for file in files_page:
        file.size_kb = -(-file.size // 1024)  # rounded up: a 10-byte file is 1 KB, not 0
    parent_id = folder.pk if folder else None
    may_manage = may_manage_files(job, user)
    return {
        "files_job": job,
        "files_folder": folder,
        "files_breadcrumbs": _breadcrumbs(folder, folders),
        "files_subfolders": [f for f in folders.values() if f.parent_id == parent_id],
        "files_page": files_page,
        "files_may_manage": may_manage,
        "files_upload_form": UploadForm(initial={"folder": parent_id}) if may_manage else None,
        "files_folder_form": FolderForm(initial={"parent": parent_id}) if may_manage else None,
    }


def folder_paths(job: Job, *, leaving_out: Folder | None = None) -> list[tuple[int, str]]:
    """Every folder of the job as (id, "Brand / Logos"), sorted by path: the places a file or
    folder can move to. `leaving_out` drops a folder and everything inside it (a folder
    cannot move into itself)."""
    folders = {folder.pk: folder for folder in Folder.objects.filter(job=job)}
    paths = []
    for folder in folders.values():
        chain = _chain(folder, folders)
        if leaving_out is not None and leaving_out.pk in {f.pk for f in chain}:
            continue
        paths.append((folder.pk, " / ".join(f.name for f in chain)))
    return sorted(paths, key=lambda item: item[1].lower())


def file_of(job: Job, file_id: int) -> File | None:
    return File.objects.filter(job=job, pk=file_id).select_related("job").first()


def folder_of(job: Job, folder_id: int) -> Folder | None:
    return Folder.objects.filter(job=job, pk=folder_id).select_related("job").first()


def _folders_with_counts(job: Job):
    return Folder.objects.filter(job=job).annotate(
        file_count=Count("files", distinct=True), folder_count=Count("children", distinct=True)
    )


def _breadcrumbs(folder: Folder | None, folders: dict) -> list[Folder]:
    return _chain(folder, folders) if folder else []


def _chain(folder: Folder, folders: dict) -> list[Folder]:
    """The folder and its parents, from the top down."""
    chain, seen = [], set()
    while folder is not None and folder.pk not in seen:
        seen.add(folder.pk)
        chain.append(folder)
        folder = folders.get(folder.parent_id)
    return chain[::-1]


def _is_id(value) -> bool:
    return isinstance(value, int) or (isinstance(value, str) and is_ascii_digits(value))
