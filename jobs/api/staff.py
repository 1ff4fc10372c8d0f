"""Staff's jobs API: the work queue, assigning, delivering, any job and the statistics across
all jobs. Every view passes `StaffPermission` with the `jobs.deliver` permission, the one the
pages ask for the same acts (jobs.services.access)."""

import django_filters
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from core.api.filters import OrderingFilter, StrictFilterSet
from core.api.pagination import page_size_errors
from core.api.parsers import valid_data
from core.api.permissions import StaffPermission
from core.api.tags import Tag
from jobs import services
from jobs.api.serializers import (
    DeliverRequest,
    DeliverySerializer,
    JobAssignRequest,
    StaffJobDetailSerializer,
    StaffJobSerializer,
    StatisticsSerializer,
)
from jobs.api.views import CONFLICT, statistics_answer
from jobs.models import Job
from jobs.selectors import reads
from jobs.selectors.statistics import statistics
from jobs.services.access import DELIVER_PERMISSION

TAG = [Tag.STAFF]
DELIVER_JOBS = {"GET": DELIVER_PERMISSION, "POST": DELIVER_PERMISSION}
# The queue: most pressing first, then the longest waiting.
QUEUE_ORDERINGS = {
    "-priority": ("-priority_rank", "submitted_at", "id"),
    "submitted_at": ("submitted_at", "id"),
    "-submitted_at": ("-submitted_at", "-id"),
}


class QueueFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(
        choices=[(value, label) for value, label in Job.Status.choices if value in Job.LIVE]
    )
    priority = django_filters.ChoiceFilter(choices=Job.Priority.choices)
    assigned = django_filters.ChoiceFilter(
        choices=[("me", "me"), ("nobody", "nobody")],
        method="filter_assigned",
        help_text="`me`: the caller's jobs; `nobody`: jobs nobody is assigned yet.",
    )
    ordering = OrderingFilter(QUEUE_ORDERINGS)

    class Meta:
        model = Job
        fields = ["status", "priority", "assigned", "ordering"]

    def filter_assigned(self, queryset, name, value):
        if value == "me":
            return queryset.filter(assignee=self.request.user)
        return queryset.filter(assignee__isnull=True)


@page_size_errors
class StaffQueueView(generics.ListAPIView):
    permission_classes = [StaffPermission]
    required_permissions = DELIVER_JOBS
    serializer_class = StaffJobSerializer
    filterset_class = QueueFilter
    orderings = QUEUE_ORDERINGS
    queryset = Job.objects.none()  # for the schema; get_queryset gives the queue

    def get_queryset(self):
        return reads.work_queue()

    @extend_schema(
        summary="The work queue: open and in-progress jobs, most pressing first (staff)",
        tags=TAG,
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _any(job_id: int):
    job = reads.detailed(job_id)
    if job is None:
        raise Http404
    return job


class StaffJobView(APIView):
    permission_classes = [StaffPermission]
    required_permissions = DELIVER_JOBS

    @extend_schema(
        summary="Any job, with its milestones and links (staff)",
        responses=StaffJobDetailSerializer,
        tags=TAG,
    )
    def get(self, request, job_id: int):
        return Response(StaffJobDetailSerializer(_any(job_id)).data)


class StaffAssignView(APIView):
    permission_classes = [StaffPermission]
    required_permissions = DELIVER_JOBS

    @extend_schema(
        summary="Assign a live job (staff)",
        description="To the caller or a colleague who may deliver jobs; nobody is assigned "
        "their own job (403).",
        request=JobAssignRequest,
        responses={200: StaffJobSerializer, **CONFLICT},
        tags=TAG,
    )
    def post(self, request, job_id: int):
        data = valid_data(JobAssignRequest, request)
        job = _any(job_id)
        assignee = request.user
        if data.get("assignee_email"):
            assignee = User.objects.filter(email__iexact=data["assignee_email"]).first()
            if assignee is None or not services.may_deliver(assignee):
                raise ValidationError(
                    {
                        "assignee_email": "There is no staff member who may deliver jobs with "
                        "this e-mail."
                    }
                )
        job = services.assign(job=job, assignee=assignee, by=request.user)
        return Response(StaffJobSerializer(_any(job.pk)).data)


class StaffDeliverView(APIView):
    permission_classes = [StaffPermission]
    required_permissions = DELIVER_JOBS

    @extend_schema(
        summary="Deliver a milestone (staff)",
        description="A message and at least one of the job's files or a link. The milestone "
        "must be funded, or waiting for changes (409 otherwise); the client's review window "
        "(JOBS_REVIEW_DAYS) starts now.",
        request=DeliverRequest,
        responses={201: DeliverySerializer, **CONFLICT},
        tags=TAG,
    )
    def post(self, request, job_id: int, milestone_id: int):
        data = valid_data(DeliverRequest, request)
        milestone = reads.milestone_of(_any(job_id), milestone_id)
        if milestone is None:
            raise Http404
        delivery = services.deliver(
            milestone=milestone,
            by=request.user,
            message=data["message"],
            files=data["files"],
            links=[(link["label"], link["url"]) for link in data["links"]],
        )
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_201_CREATED)


class StaffStatisticsView(APIView):
    permission_classes = [StaffPermission]
    required_permissions = DELIVER_JOBS

    @extend_schema(
        summary="Job statistics across all jobs (staff)",
        responses=StatisticsSerializer,
        tags=TAG,
    )
    def get(self, request):
        return Response(statistics_answer(statistics()))
