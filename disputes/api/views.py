"""The disputes API: a user's own disputes (others' answer 404), a dispute on a delivered
milestone of their job (another user's job answers 404), and staff's queue."""

import django_filters
from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from core.api.errors import REFUSALS, DomainErrorResponse
from core.api.filters import StrictFilterSet
from core.api.idempotency import IDEMPOTENCY_HEADER
from core.api.pagination import page_size_errors
from core.api.parsers import valid_data
from core.api.permissions import StaffPermission
from core.api.tags import Tag
from credits import selectors as credit_selectors
from credits.api.idempotency import created, idempotent
from disputes import selectors, services
from disputes.api.serializers import (
    AssignRequest,
    DisputeDetailSerializer,
    DisputeSerializer,
    EscalateRequest,
    MessageRequest,
    MessageSerializer,
    OpenDisputeRequest,
    OpenMilestoneDisputeRequest,
    RejectRequest,
    ResolveRequest,
    StaffDisputeSerializer,
)
from disputes.models import Dispute
from jobs.errors import JobNotFound

TAG = [Tag.DISPUTES]
STAFF_TAG = [Tag.STAFF]
# What the admin's dispute queue asks for the same acts.
CHANGE_DISPUTES = {"POST": "disputes.change_dispute"}


@page_size_errors
class DisputeListView(generics.ListAPIView):
    serializer_class = DisputeSerializer
    queryset = Dispute.objects.none()  # for the schema; get_queryset gives the caller's

    def get_queryset(self):
        return selectors.disputes_of(self.request.user)

    @extend_schema(summary="The caller's disputes, newest first", tags=TAG)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        summary="Open a dispute on one of the caller's transactions",
        description="A spend, capture, adjustment or expiry, within the dispute window, for at "
        "most what is not refunded yet; one open dispute per transaction.",
        request=OpenDisputeRequest,
        responses={201: DisputeDetailSerializer, 422: REFUSALS[422]},
        tags=TAG,
    )
    def post(self, request):
        data = valid_data(OpenDisputeRequest, request)
        txn = credit_selectors.transaction_for(
            wallet=request.user.wallet, transaction_id=data.pop("transaction")
        )
        if txn is None:
            raise ValidationError({"transaction": "There is no such transaction in your wallet."})
        dispute = services.open_dispute(user=request.user, txn=txn, **data)
        return Response(DisputeDetailSerializer(dispute).data, status=status.HTTP_201_CREATED)


class MilestoneDisputeView(APIView):
    @extend_schema(
        summary="Dispute a delivered milestone instead of accepting it",
        description="The job's client asks back 1 to the milestone's amount; the milestone "
        "must be delivered and in review (409 otherwise), and has at most one open dispute. "
        "Nothing is paid, and the review window no longer accepts it, until staff decide in "
        "the dispute queue: part or all of `amount` given back (the rest paid), or the claim "
        "rejected (all paid). Another user's job is a 404.",
        parameters=[IDEMPOTENCY_HEADER],
        request=OpenMilestoneDisputeRequest,
        responses={
            201: DisputeDetailSerializer,
            409: OpenApiResponse(
                DomainErrorResponse,
                description="The milestone is not delivered and in review, or already disputed "
                "(wrong_status); or the Idempotency-Key was used for another request "
                "(idempotency_conflict): nothing was done.",
            ),
            422: REFUSALS[422],
        },
        tags=TAG,
    )
    # The result is a dispute, not a ledger operation: the answer is kept under the key right
    # after the service (which moves no credits), so a retry replays it.
    @idempotent(created(DisputeDetailSerializer), ledger_result=False)
    def post(self, request, job_id: int, milestone_id: int):
        data = valid_data(OpenMilestoneDisputeRequest, request)
        milestone = selectors.milestone_for(request.user, milestone_id, job_id=job_id)
        if milestone is None:
            raise JobNotFound(f"No job #{job_id} with milestone #{milestone_id}.")
        return services.open_milestone_dispute(user=request.user, milestone=milestone, **data)


def _own(request, dispute_id: int) -> Dispute:
    dispute = selectors.dispute_of(request.user, dispute_id)
    if dispute is None:
        raise Http404
    return dispute


class DisputeDetailView(APIView):
    @extend_schema(
        summary="One of the caller's disputes, with its messages",
        responses=DisputeDetailSerializer,
        tags=TAG,
    )
    def get(self, request, dispute_id: int):
        return Response(DisputeDetailSerializer(_own(request, dispute_id)).data)


class DisputeMessageView(APIView):
    @extend_schema(
        summary="Write in a dispute's thread",
        request=MessageRequest,
        responses={201: MessageSerializer, 422: REFUSALS[422]},
        tags=TAG,
    )
    def post(self, request, dispute_id: int):
        data = valid_data(MessageRequest, request)
        message = services.post_message(
            dispute=_own(request, dispute_id), author=request.user, body=data["body"]
        )
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)


class DisputeEscalateView(APIView):
    @extend_schema(
        summary="Escalate a rejected dispute (once)",
        request=EscalateRequest,
        responses={200: DisputeDetailSerializer, 422: REFUSALS[422]},
        tags=TAG,
    )
    def post(self, request, dispute_id: int):
        data = valid_data(EscalateRequest, request)
        dispute = services.escalate(
            dispute=_own(request, dispute_id), user=request.user, reason=data["reason"]
        )
        return Response(DisputeDetailSerializer(dispute).data)


# --- staff ---------------------------------------------------------------------------------------


class StaffDisputeFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=Dispute.Status.choices)
    level = django_filters.NumberFilter()
    reason = django_filters.ChoiceFilter(choices=Dispute.Reason.choices)
    assignee = django_filters.CharFilter(field_name="assignee__email", lookup_expr="iexact")

    class Meta:
        model = Dispute
        fields = ["status", "level", "reason", "assignee"]


@page_size_errors
class StaffDisputeListView(generics.ListAPIView):
    permission_classes = [StaffPermission]
    required_permissions = {"GET": "disputes.view_dispute"}
    serializer_class = StaffDisputeSerializer
    filterset_class = StaffDisputeFilter
    cursor_ordering = ("id",)  # a queue: the oldest first
    queryset = Dispute.objects.select_related(
        "user", "assignee", "refund", "milestone__job", "milestone__hold"
    )

    @extend_schema(summary="The dispute queue (staff)", tags=STAFF_TAG)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _any(dispute_id: int) -> Dispute:
    dispute = Dispute.objects.filter(pk=dispute_id).first()
    if dispute is None:
        raise Http404
    return dispute


class StaffAssignView(APIView):
    permission_classes = [StaffPermission]
    required_permissions = CHANGE_DISPUTES

    @extend_schema(
        summary="Assign a dispute (staff)",
        request=AssignRequest,
        responses={200: StaffDisputeSerializer, 422: REFUSALS[422]},
        tags=STAFF_TAG,
    )
    def post(self, request, dispute_id: int):
        data = valid_data(AssignRequest, request)
        assignee = request.user
        if data.get("assignee_email"):
            assignee = User.objects.filter(email__iexact=data["assignee_email"]).first()
            if assignee is None:
                raise ValidationError({"assignee_email": "There is no user with this e-mail."})
        dispute = services.assign(dispute=_any(dispute_id), assignee=assignee, by=request.user)
        return Response(StaffDisputeSerializer(dispute).data)


class StaffResolveView(APIView):
    permission_classes = [StaffPermission]
    required_permissions = CHANGE_DISPUTES

    @extend_schema(
        summary="Resolve a dispute with a refund (staff)",
        request=ResolveRequest,
        responses={200: StaffDisputeSerializer, 422: REFUSALS[422]},
        tags=STAFF_TAG,
    )
    def post(self, request, dispute_id: int):
        data = valid_data(ResolveRequest, request)
        dispute = services.resolve(dispute=_any(dispute_id), staff=request.user, **data)
        return Response(StaffDisputeSerializer(dispute).data)


class StaffRejectView(APIView):
    permission_classes = [StaffPermission]
    required_permissions = CHANGE_DISPUTES

    @extend_schema(
        summary="Reject a dispute (staff)",
        request=RejectRequest,
        responses={200: StaffDisputeSerializer, 422: REFUSALS[422]},
        tags=STAFF_TAG,
    )
    def post(self, request, dispute_id: int):
        data = valid_data(RejectRequest, request)
        dispute = services.reject(
            dispute=_any(dispute_id), staff=request.user, reason=data["reason"]
        )
        return Response(StaffDisputeSerializer(dispute).data)
