"""The jobs API's files: list a job's files, upload one (multipart), read one's metadata,
download its bytes. A job the caller may not see is a 404, as for one that does not exist.
config/urls.py includes `urlpatterns` under /api/v1/."""

import django_filters
from django.http import Http404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.filters import StrictFilterSet
from core.api.pagination import page_size_errors
from core.api.parsers import valid_data
from core.api.tags import Tag
from jobs import downloads, gate, services
from jobs.models import File, Folder
from jobs.selectors import files as selectors

TAG = [Tag.JOBS]


class FileSerializer(serializers.ModelSerializer):
    folder = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    delivery = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    uploaded_by = serializers.EmailField(source="uploaded_by.email", read_only=True)
    download = serializers.SerializerMethodField(help_text="Where the file's bytes are.")

    class Meta:
        model = File
        fields = ["id", "name", "folder", "size", "content_type", "sha256", "delivery"]
        fields += ["uploaded_by", "created_at", "download"]

    def get_download(self, file: File) -> str:
        return f"/api/v1/jobs/{file.job_id}/files/{file.pk}/download"


class UploadRequest(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        help_text="Images (PNG, JPEG, GIF, WebP), PDF, zip and office documents, or plain "
        "text (UTF-8), judged by their bytes; at most JOBS_MAX_UPLOAD_MB.",
    )
    folder = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=1,
        help_text="A folder of the job; none: the top.",
    )


class FileFilter(StrictFilterSet):
    folder = django_filters.NumberFilter(field_name="folder", help_text="Files of one folder.")
    top = django_filters.BooleanFilter(
        field_name="folder", lookup_expr="isnull", help_text="true: the files in no folder."
    )

    class Meta:
        model = File
        fields = ["folder", "top"]


def _file(request, job_id: int, file_id: int) -> File:
    file = selectors.file_of(gate.job_for(request, job_id, page=False), file_id)
    if file is None:
        raise Http404
    return file


@page_size_errors
class FileListView(generics.ListAPIView):
    serializer_class = FileSerializer
    filterset_class = FileFilter
    queryset = File.objects.none()  # for the schema; get_queryset gives the job's
    parser_classes = [MultiPartParser]

    def get_queryset(self):
        job = gate.job_for(self.request, self.kwargs["job_id"], page=False)
        return File.objects.filter(job=job).select_related("uploaded_by")

    @extend_schema(summary="A job's files, newest first", tags=TAG)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Upload a file to a job",
        description="Multipart, one file. Refused (400 `file_refused`) when it is empty, over "
        "JOBS_MAX_UPLOAD_MB, of a type not accepted, or not what its name says (a program "
        "named .png). Duplicates are kept apart. The job's client and its team may upload "
        "while the job is a draft or live (409 `wrong_status` once it is closed).",
        request={"multipart/form-data": UploadRequest},
        responses={201: FileSerializer, 409: OpenApiResponse(description="The job is closed.")},
        tags=TAG,
    )
    def post(self, request, job_id: int):
        job = gate.job_for(request, job_id, page=False)
        data = valid_data(UploadRequest, request)
        folder = None
        if data.get("folder") is not None:
            folder = selectors.folder_of(job, data["folder"]) or Folder(pk=data["folder"])
        file = services.upload(job=job, by=request.user, upload=data["file"], folder=folder)
        return Response(FileSerializer(file).data, status=status.HTTP_201_CREATED)


class FileDetailView(APIView):
    @extend_schema(
        summary="One file of a job: its name, size, type and digest",
        responses=FileSerializer,
        tags=TAG,
    )
    def get(self, request, job_id: int, file_id: int):
        return Response(FileSerializer(_file(request, job_id, file_id)).data)


class BinaryRenderer(JSONRenderer):
    """Lets a caller ask for the bytes (Accept: application/octet-stream); an error is still
    the one JSON error shape."""

    media_type = "application/octet-stream"
    format = "bin"


class FileDownloadView(APIView):
    renderer_classes = [JSONRenderer, BinaryRenderer]

    @extend_schema(
        summary="Download a file's bytes",
        description="Always an attachment under the file's name; images and PDF as their own "
        "type, text as text/plain, anything else as application/octet-stream; nosniff.",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        tags=TAG,
    )
    def get(self, request, job_id: int, file_id: int):
        return downloads.download(_file(request, job_id, file_id))


urlpatterns = [
    path("jobs/<int:job_id>/files", FileListView.as_view(), name="job-files"),
    path("jobs/<int:job_id>/files/<int:file_id>", FileDetailView.as_view(), name="job-file"),
    path(
        "jobs/<int:job_id>/files/<int:file_id>/download",
        FileDownloadView.as_view(),
        name="job-file-download",
    ),
]
