"""The jobs API for clients: their own jobs (another user's answers 404), drafts written and
planned, submitted (the budget reserved), and each delivered milestone's decision.

Every step that moves credits (submit, cancel, accept, accept in part, cancel a milestone) and
asking for changes take an Idempotency-Key: a retry replays the first answer; a second decision
under a new key is refused by the service (409 wrong_status), whose holds are settled once under
their own keys.
"""

import django_filters
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import REFUSALS, DomainErrorResponse
from core.api.filters import OrderingFilter, StrictFilterSet
from core.api.idempotency import IDEMPOTENCY_HEADER
from core.api.pagination import page_size_errors
from core.api.parsers import valid_data
from core.api.tags import Tag
from credits.api.idempotency import idempotent
from jobs import services
from jobs.api.serializers import (
    AcceptPartRequest,
    ActivitySerializer,
    CancelRequest,
    ChangesRequest,
    CreateDraftRequest,
    DeliverySerializer,
    EditDraftRequest,
    EmptyRequest,
    JobDetailSerializer,
    JobSerializer,
    LinkRequest,
    LinkSerializer,
    MilestoneSerializer,
    PlanRequest,
    StatisticsSerializer,
)
from jobs.models import Activity, Delivery, Job, Milestone
from jobs.selectors import reads
from jobs.selectors.statistics import statistics
from jobs.services import MilestonePlan

TAG = [Tag.JOBS]
# A step on a job or milestone in the wrong state, or a key used for another request.
CONFLICT = {
    409: OpenApiResponse(
        DomainErrorResponse,
        description="Not now (wrong_status: a draft already submitted, a milestone already "
        "decided…), or the Idempotency-Key was used for another request "
        "(idempotency_conflict): nothing was done.",
    )
}
STEP_REFUSALS = {**CONFLICT, 422: REFUSALS[422]}
# The client's lists sort these ways (the cursor pages follow the first field).
JOB_ORDERINGS = {
    "-created_at": ("-created_at", "-id"),
    "created_at": ("created_at", "id"),
    "-priority": ("-priority_rank", "-created_at", "-id"),
    "priority": ("priority_rank", "created_at", "id"),
    "-budget": ("-budget", "-id"),
    "budget": ("budget", "id"),
}


class JobFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=Job.Status.choices)
    priority = django_filters.ChoiceFilter(choices=Job.Priority.choices)
    due_before = django_filters.DateFilter(
        method="filter_due", help_text="With a milestone still to decide due on or before it."
    )
    due_after = django_filters.DateFilter(
        method="filter_due", help_text="With a milestone still to decide due on or after it."
    )
    ordering = OrderingFilter(JOB_ORDERINGS)

    class Meta:
        model = Job
        fields = ["status", "priority", "due_before", "due_after", "ordering"]

    def filter_due(self, queryset, name, value):
        return reads.due_between(queryset, **{name.removeprefix("due_"): value})


def own_job(request, job_id: int) -> Job:
    job = reads.detailed(job_id, Job.objects.filter(client=request.user))
    if job is None:
        raise Http404
    return job


def own_milestone(request, job_id: int, milestone_id: int) -> Milestone:
    milestone = reads.milestone_of(own_job(request, job_id), milestone_id)
    if milestone is None:
        raise Http404
    return milestone


def detail(job: Job) -> dict:
    """A job as the detail answers it, read again with its milestones and links."""
    return JobDetailSerializer(reads.detailed(job.pk)).data


@page_size_errors
class JobListView(generics.ListAPIView):
    serializer_class = JobSerializer
    filterset_class = JobFilter
    orderings = JOB_ORDERINGS
    queryset = Job.objects.none()  # for the schema; get_queryset gives the caller's

    def get_queryset(self):
        return reads.jobs_of(self.request.user)

    @extend_schema(
        summary="The caller's jobs, newest first",
        description="Filter by status, priority and milestones' due dates; sort with "
        "`ordering`. Cursor pagination, as every list.",
        tags=TAG,
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Create a draft job",
        description="Only a title is needed: a draft is saved incomplete, then edited section "
        "by section, planned and submitted.",
        request=CreateDraftRequest,
        responses={201: JobDetailSerializer},
        tags=TAG,
    )
    def post(self, request):
        data = valid_data(CreateDraftRequest, request)
        job = services.create_draft(client=request.user, **data)
        return Response(detail(job), status=status.HTTP_201_CREATED)


class JobDetailView(APIView):
    @extend_schema(
        summary="One of the caller's jobs, with its milestones and links",
        responses=JobDetailSerializer,
        tags=TAG,
    )
    def get(self, request, job_id: int):
        return Response(JobDetailSerializer(own_job(request, job_id)).data)

    @extend_schema(
        summary="Edit a draft's fields",
        description="Any fields of any section; those left out stay as they are. Only a draft "
        "can be edited (409 otherwise).",
        request=EditDraftRequest,
        responses={200: JobDetailSerializer, **CONFLICT},
        tags=TAG,
    )
    def patch(self, request, job_id: int):
        data = valid_data(EditDraftRequest, request)
        job = own_job(request, job_id)
        return Response(detail(services.update_draft(job=job, by=request.user, **data)))


class MilestonePlanView(APIView):
    @extend_schema(
        summary="Plan a draft's milestones",
        description="The whole plan replaces the draft's milestones. Each has a title, a due "
        "date from today on and a whole number of credits above 0, no more than the budget; "
        "to submit, they must add up to the budget.",
        request=PlanRequest,
        responses={200: JobDetailSerializer, **CONFLICT},
        tags=TAG,
    )
    def put(self, request, job_id: int):
        data = valid_data(PlanRequest, request)
        job = own_job(request, job_id)
        plans = [MilestonePlan(**plan) for plan in data["milestones"]]
        services.plan_milestones(job=job, by=request.user, milestones=plans)
        return Response(detail(job))


class JobLinkView(APIView):
    @extend_schema(
        summary="Add a resource link to a job",
        request=LinkRequest,
        responses={201: LinkSerializer},
        tags=TAG,
    )
    def post(self, request, job_id: int):
        data = valid_data(LinkRequest, request)
        job = own_job(request, job_id)
        link = services.add_link(job=job, by=request.user, **data)
        return Response(LinkSerializer(link).data, status=status.HTTP_201_CREATED)


def _detail_answer(job: Job) -> Response:
    return Response(detail(job))


def _milestone_answer(milestone: Milestone) -> Response:
    return Response(MilestoneSerializer(reads.milestone_as_now(milestone)).data)


class SubmitView(APIView):
    @extend_schema(
        summary="Submit a draft: its budget is reserved",
        description="Each milestone's amount is reserved from the caller's wallet (a hold per "
        "milestone), all or none: a short wallet is refused (422 insufficient_credits) and "
        "nothing is reserved. The draft must be complete: a budget, milestones that add up to "
        "it, due dates not past (400 on the field).",
        parameters=[IDEMPOTENCY_HEADER],
        request=EmptyRequest,
        responses={200: JobDetailSerializer, **STEP_REFUSALS},
        tags=TAG,
    )
    @idempotent(_detail_answer, ledger_result=False)
    def post(self, request, job_id: int):
        valid_data(EmptyRequest, request)  # no field: anything sent is a 400, not ignored
        job = own_job(request, job_id)
        return services.submit(job=job, by=request.user)


class CancelJobView(APIView):
    @extend_schema(
        summary="Cancel a job",
        description="A draft is closed; a live job's milestones not delivered are cancelled "
        "and their credits released. A delivered milestone must be decided first (409).",
        parameters=[IDEMPOTENCY_HEADER],
        request=CancelRequest,
        responses={200: JobDetailSerializer, **STEP_REFUSALS},
        tags=TAG,
    )
    @idempotent(_detail_answer, ledger_result=False)
    def post(self, request, job_id: int):
        data = valid_data(CancelRequest, request)
        job = own_job(request, job_id)
        return services.cancel_job(job=job, by=request.user, reason=data["reason"])


class MilestoneStep(APIView):
    """A client's decision on one milestone of their job: the service, its body, its answer."""

    request_body = EmptyRequest

    def post(self, request, job_id: int, milestone_id: int):
        data = valid_data(self.request_body, request)
        milestone = own_milestone(request, job_id, milestone_id)
        return self.step(milestone=milestone, by=request.user, **data)


def milestone_step(*, summary: str, description: str, body, step):
    """A MilestoneStep view: documented, taking an Idempotency-Key, answering the milestone."""

    class View(MilestoneStep):
        request_body = body

        @extend_schema(
            summary=summary,
            description=description,
            parameters=[IDEMPOTENCY_HEADER],
            request=body,
            responses={200: MilestoneSerializer, **STEP_REFUSALS},
            tags=TAG,
        )
        @idempotent(_milestone_answer, ledger_result=False)
        def post(self, request, job_id: int, milestone_id: int):
            return super().post(request, job_id, milestone_id)

    View.step = staticmethod(step)
    View.__name__ = View.__qualname__ = f"{step.__name__.title().replace('_', '')}View"
    return View


AcceptView = milestone_step(
    summary="Accept a delivered milestone: its amount is paid",
    description="Captures the milestone's whole amount, once: a retry under the same key "
    "replays the first answer; accepting again under a new key is a 409 wrong_status.",
    body=EmptyRequest,
    step=services.accept,
)
AcceptPartView = milestone_step(
    summary="Accept a delivered milestone in part",
    description="Pays `amount` (less than the milestone's) with a reason; the rest goes back "
    "to the caller's wallet.",
    body=AcceptPartRequest,
    step=services.accept_in_part,
)
RequestChangesView = milestone_step(
    summary="Ask for changes to a delivered milestone",
    description="With a reason, at most JOBS_MAX_REVISIONS times (then accept or dispute it): "
    "the review clock stops until the next delivery.",
    body=ChangesRequest,
    step=services.request_changes,
)
CancelMilestoneView = milestone_step(
    summary="Cancel a milestone not delivered: its credits come back",
    description="A delivered milestone must be decided first (409).",
    body=CancelRequest,
    step=services.cancel_milestone,
)


@page_size_errors
class ActivityView(generics.ListAPIView):
    serializer_class = ActivitySerializer
    queryset = Activity.objects.none()  # for the schema; get_queryset gives the job's

    def get_queryset(self):
        job = own_job(self.request, self.kwargs["job_id"])
        return job.activity.select_related("actor")

    @extend_schema(summary="A job's activity log, newest first", tags=TAG)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@page_size_errors
class DeliveryListView(generics.ListAPIView):
    serializer_class = DeliverySerializer
    cursor_ordering = ("number",)
    queryset = Delivery.objects.none()  # for the schema; get_queryset gives the milestone's

    def get_queryset(self):
        kwargs = self.kwargs
        return reads.deliveries_of(
            own_milestone(self.request, kwargs["job_id"], kwargs["milestone_id"])
        )

    @extend_schema(summary="A milestone's deliveries, first first", tags=TAG)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class StatisticsView(APIView):
    @extend_schema(
        summary="The caller's job statistics",
        description="Jobs by status; credits reserved, paid and given back (from the ledger); "
        "overdue milestones; the median time from delivery to acceptance.",
        responses=StatisticsSerializer,
        tags=TAG,
    )
    def get(self, request):
        return Response(statistics_answer(statistics(client=request.user)))


def statistics_answer(found) -> dict:
    return StatisticsSerializer(
        {**vars(found), "jobs": found.jobs, "jobs_by_status": found.jobs_by_status}
    ).data
