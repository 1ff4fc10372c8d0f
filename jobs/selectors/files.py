"""A stand-in for helper 1's files selector (the lead takes theirs at merge): what the job's
Files tab shows, a folder at a time."""

from jobs.models import Folder, Job


def files_tab(job: Job, user, folder_id) -> dict:
    folder = None
    if folder_id and str(folder_id).isdecimal():
        folder = Folder.objects.filter(job=job, pk=int(folder_id)).first()
    return {
        "folder": folder,
        "folders": job.folders.filter(parent=folder).order_by("name", "id"),
        "files": job.files.filter(folder=folder).order_by("name", "id"),
    }
