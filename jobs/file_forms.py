"""The Files tab's forms. They only read what was sent; jobs.services.files judges it."""

from django import forms
from django.conf import settings

from jobs.services.files import ACCEPTED

TOP = ""  # the move target "the top of the job's files"


class UploadForm(forms.Form):
    file = forms.FileField(label="File to upload", allow_empty_file=True)
    folder = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = f"At most {settings.JOBS_MAX_UPLOAD_MB:,} MB: {ACCEPTED}."


class FolderForm(forms.Form):
    name = forms.CharField(max_length=100, label="New folder")
    parent = forms.IntegerField(widget=forms.HiddenInput, required=False)


class RenameFolderForm(forms.Form):
    name = forms.CharField(max_length=100, label="New name")


class MoveForm(forms.Form):
    destination = forms.ChoiceField(label="Move to", required=False)

    def __init__(self, *args, paths: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destination"].choices = [(TOP, "The top (no folder)"), *paths]

    @property
    def folder_id(self) -> int | None:
        chosen = self.cleaned_data["destination"]
        return int(chosen) if chosen != TOP else None
