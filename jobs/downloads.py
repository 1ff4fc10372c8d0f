"""A job file's bytes as a download, the one way pages and the API send them: streamed, always
as an attachment under its sanitised name, with a content type a browser cannot be talked into
running (nosniff: no guessing HTML or script from the bytes)."""

from django.http import FileResponse

from jobs.models import File
from jobs.services.files import TEXT

# Types a browser may be told as they are: it shows them, never runs them.
SHOWN_AS_SNIFFED = frozenset(
    {"image/png", "image/apng", "image/jpeg", "image/gif", "image/webp", "application/pdf"}
)


def safe_content_type(file: File) -> str:
    if file.content_type in SHOWN_AS_SNIFFED:
        return file.content_type
    if file.content_type == TEXT:
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


def download(file: File) -> FileResponse:
    response = FileResponse(
        file.content.open("rb"),
        as_attachment=True,
        filename=file.name,
        content_type=safe_content_type(file),
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
