"""The Files tab's pages: upload, new folder, rename, move, delete, download. Each parses the
form, calls one jobs.services.files step, and goes back to the job's Files tab; a refusal is
shown beside the field it is about. Someone who may not see the job gets a 404."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from jobs import downloads, gate, services
from jobs.errors import FileRefused, JobError, JobNotFound
from jobs.file_forms import FolderForm, MoveForm, RenameFolderForm, UploadForm
from jobs.models import Folder, Job
from jobs.selectors import files as selectors


def files_page(request: HttpRequest, job_id: int) -> HttpResponse:
    """The Files tab on a page of its own (where a refused upload or new folder is shown)."""
    job = gate.job_for(request, job_id)
    return _files_page(request, job, request.GET.get("folder"))


@require_POST
def upload(request: HttpRequest, job_id: int) -> HttpResponse:
    job = gate.job_for(request, job_id)
    form = UploadForm(request.POST, request.FILES)
    folder_id = request.POST.get("folder")
    if form.is_valid():
        folder_id = form.cleaned_data["folder"]
        try:
            file = services.upload(
                job=job,
                by=request.user,
                upload=form.cleaned_data["file"],
                folder=_folder_or_none(job, folder_id),
            )
        except FileRefused as error:
            form.add_error("file", error.message)
        except JobError as error:
            _add_error(form, error)
        else:
            messages.success(request, f"{file.name} was uploaded.")
            return redirect(files_tab_url(job, folder_id))
    return _files_page(request, job, folder_id, files_upload_form=form)


@require_POST
def create_folder(request: HttpRequest, job_id: int) -> HttpResponse:
    job = gate.job_for(request, job_id)
    form = FolderForm(request.POST)
    parent_id = request.POST.get("parent")
    if form.is_valid():
        parent_id = form.cleaned_data["parent"]
        try:
            folder = services.create_folder(
                job=job,
                by=request.user,
                name=form.cleaned_data["name"],
                parent=_folder_or_none(job, parent_id),
            )
        except JobError as error:
            _add_error(form, error)
        else:
            messages.success(request, f"The folder {folder.name} was made.")
            return redirect(files_tab_url(job, parent_id))
    return _files_page(request, job, parent_id, files_folder_form=form)


def rename_folder(request: HttpRequest, job_id: int, folder_id: int) -> HttpResponse:
    job = gate.job_for(request, job_id)
    folder = _folder(job, folder_id)
    form = RenameFolderForm(request.POST or None, initial={"name": folder.name})
    if request.method == "POST" and form.is_valid():
        try:
            services.rename_folder(folder=folder, by=request.user, name=form.cleaned_data["name"])
        except JobError as error:
            _add_error(form, error)
        else:
            messages.success(request, "The folder was renamed.")
            return redirect(files_tab_url(job, folder.parent_id))
    return _action_page(request, job, form, f"Rename the folder {folder.name}", "Rename", folder)


def move_folder(request: HttpRequest, job_id: int, folder_id: int) -> HttpResponse:
    job = gate.job_for(request, job_id)
    folder = _folder(job, folder_id)
    paths = selectors.folder_paths(job, leaving_out=folder)
    form = MoveForm(request.POST or None, paths=paths, initial={"destination": folder.parent_id})
    if request.method == "POST" and form.is_valid():
        try:
            services.move_folder(
                folder=folder, by=request.user, parent=_folder_or_none(job, form.folder_id)
            )
        except JobError as error:
            _add_error(form, error)
        else:
            messages.success(request, f"The folder {folder.name} was moved.")
            return redirect(files_tab_url(job, form.folder_id))
    return _action_page(request, job, form, f"Move the folder {folder.name}", "Move", folder)


@require_POST
def delete_folder(request: HttpRequest, job_id: int, folder_id: int) -> HttpResponse:
    job = gate.job_for(request, job_id)
    folder = _folder(job, folder_id)
    try:
        services.delete_folder(folder=folder, by=request.user)
    except JobError as error:
        messages.error(request, error.message)
        return redirect(files_tab_url(job, folder.pk))
    messages.success(request, f"The folder {folder.name} was deleted.")
    return redirect(files_tab_url(job, folder.parent_id))


def move_file(request: HttpRequest, job_id: int, file_id: int) -> HttpResponse:
    job = gate.job_for(request, job_id)
    file = _file(job, file_id)
    paths = selectors.folder_paths(job)
    form = MoveForm(request.POST or None, paths=paths, initial={"destination": file.folder_id})
    if request.method == "POST" and form.is_valid():
        try:
            services.move_file(
                file=file, by=request.user, folder=_folder_or_none(job, form.folder_id)
            )
        except JobError as error:
            _add_error(form, error)
        else:
            messages.success(request, f"{file.name} was moved.")
            return redirect(files_tab_url(job, form.folder_id))
    return _action_page(request, job, form, f"Move {file.name}", "Move", file.folder)


@require_POST
def delete_file(request: HttpRequest, job_id: int, file_id: int) -> HttpResponse:
    job = gate.job_for(request, job_id)
    file = _file(job, file_id)
    try:
        services.delete_file(file=file, by=request.user)
    except JobError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{file.name} was deleted.")
    return redirect(files_tab_url(job, file.folder_id))


def download(request: HttpRequest, job_id: int, file_id: int) -> HttpResponse:
    return downloads.download(_file(gate.job_for(request, job_id), file_id))


def files_tab_url(job: Job, folder_id: int | None) -> str:
    """The job's page, on its Files tab, in the folder (the top when None)."""
    query = "?tab=files" + (f"&folder={folder_id}" if folder_id else "")
    return reverse("jobs:detail", args=[job.pk]) + query


# --- helpers -------------------------------------------------------------------------------------


def _folder(job: Job, folder_id: int):
    folder = selectors.folder_of(job, folder_id)
    if folder is None:
        raise Http404("No such folder in this job.")
    return folder


def _file(job: Job, file_id: int):
    file = selectors.file_of(job, file_id)
    if file is None:
        raise Http404("No such file in this job.")
    return file


def _folder_or_none(job: Job, folder_id):
    """The folder a form names, or None for the top; the service refuses one of another job."""
    if folder_id in (None, ""):
        return None
    # One of another job (or none) stays a Folder by id: the service refuses it beside the field.
    return selectors.folder_of(job, folder_id) or Folder(pk=folder_id)


def _add_error(form, error: JobError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error.message)


def _files_page(request: HttpRequest, job: Job, folder_id, **forms) -> HttpResponse:
    try:
        context = selectors.files_tab(job, request.user, folder_id, page=request.GET.get("page"))
    except JobNotFound:
        raise Http404("No such job.") from None
    context.update({name: form for name, form in forms.items()})
    return render(request, "jobs/files.html", {"job": job, **context})


def _action_page(request, job: Job, form, heading: str, button: str, folder) -> HttpResponse:
    context = {
        "job": job,
        "form": form,
        "heading": heading,
        "button": button,
        "back": files_tab_url(job, folder.pk if folder else None),
    }
    return render(request, "jobs/file_action.html", context)
