"""Staff's credits API: find wallets, grant, deduct, freeze/unfreeze/suspend/reactivate, and
decide colleagues' approval requests (maker-checker).

Every view passes `StaffPermission` with the model permissions the admin asks for the same act.
"""

import django_filters
from django.db.models import Q
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.errors import REFUSALS
from core.api.filters import StrictFilterSet
from core.api.idempotency import IDEMPOTENCY_HEADER
from core.api.pagination import page_size_errors
from core.api.parsers import valid_data
from core.api.permissions import StaffPermission
from core.api.tags import Tag
from core.fields import JsonIntegerField
from credits import selectors, services
from credits.api.idempotency import idempotent, staff_actor
from credits.api.serializers import AmountField, TransactionSerializer
from credits.models import ApprovalRequest, Wallet
from credits.services import staff as staff_powers

TAG = [Tag.STAFF]
VIEW_WALLETS = {"GET": "credits.view_wallet"}
CHANGE_WALLETS = {"POST": "credits.change_wallet"}


class StaffWalletSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")
    available = serializers.IntegerField()

    class Meta:
        model = Wallet
        fields = ["id", "email", "name", "balance", "available", "held", "status"]


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A goodwill grant",
            value={
                "amount": 500,
                "reason": "Goodwill after outage",
                "promotional": True,
                "expires_at": "2027-01-31T23:59:59Z",
                "priority": 50,
            },
            request_only=True,
        )
    ]
)
class StaffGrantRequest(serializers.Serializer):
    amount = AmountField()
    reason = serializers.CharField(min_length=1, max_length=255)
    promotional = serializers.BooleanField(default=True)
    expires_at = serializers.DateTimeField(required=False, allow_null=True)
    priority = JsonIntegerField(min_value=0, max_value=100, default=50)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A correction",
            value={"amount": 100, "reason": "Duplicate grant #1234"},
            request_only=True,
        )
    ]
)
class StaffDeductRequest(serializers.Serializer):
    amount = AmountField()
    reason = serializers.CharField(min_length=1, max_length=255)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Freeze",
            value={"action": "freeze", "reason": "Chargeback under investigation"},
            request_only=True,
        )
    ]
)
class StatusRequest(serializers.Serializer):
    action = serializers.ChoiceField(choices=["freeze", "unfreeze", "suspend", "reactivate"])
    reason = serializers.CharField(min_length=1, max_length=2000)


class ApprovalRequestSerializer(serializers.ModelSerializer):
    wallet_email = serializers.EmailField(source="wallet.user.email")
    requested_by = serializers.EmailField(source="requested_by.email")
    decided_by = serializers.EmailField(source="decided_by.email", allow_null=True)
    status = serializers.SerializerMethodField()
    transaction = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = ApprovalRequest
        fields = ["id", "operation", "wallet", "wallet_email", "amount", "reason"]
        fields += ["is_promotional", "grant_expires_at", "priority", "why_approval"]
        fields += ["requested_by", "created_at", "expires_at", "status", "decided_by"]
        fields += ["decided_at", "decision_note", "transaction"]

    @extend_schema_field(serializers.ChoiceField(choices=ApprovalRequest.Status.choices))
    def get_status(self, approval: ApprovalRequest) -> str:
        return selectors.approval_status(approval)


class ApproveRequest(serializers.Serializer):
    note = serializers.CharField(max_length=2000, required=False, default="")


class RefuseRequest(serializers.Serializer):
    reason = serializers.CharField(min_length=1, max_length=2000)


def _wallet(wallet_id: int) -> Wallet:
    wallet = (
        Wallet.objects.filter(pk=wallet_id, kind=Wallet.Kind.USER).select_related("user").first()
    )
    if wallet is None:
        raise Http404
    return wallet


def _outcome(outcome: staff_powers.StaffOutcome) -> Response:
    """201 with the transaction when it posted; 202 with the request when it needs approval."""
    if outcome.approval is not None:
        return Response(
            ApprovalRequestSerializer(outcome.approval).data, status=status.HTTP_202_ACCEPTED
        )
    return Response(TransactionSerializer(outcome.transaction).data, status=status.HTTP_201_CREATED)


POSTED_OR_ASKED = {
    201: OpenApiResponse(TransactionSerializer, description="Posted."),
    202: OpenApiResponse(
        ApprovalRequestSerializer,
        description="Beyond the caller's own authority (an amount above "
        "CREDITS_STAFF_APPROVAL_ABOVE, or the daily limit): recorded as a request that posts "
        "when a second staff member approves it.",
    ),
    **REFUSALS,
}


@page_size_errors
class StaffWalletListView(generics.ListAPIView):
    permission_classes = [StaffPermission]
    required_permissions = VIEW_WALLETS
    serializer_class = StaffWalletSerializer
    cursor_ordering = ("id",)

    def get_queryset(self):
        wallets = Wallet.objects.filter(kind=Wallet.Kind.USER).select_related("user")
        search = self.request.query_params.get("search", "").strip()
        if search:
            wallets = wallets.filter(
                Q(user__email__icontains=search) | Q(user__name__icontains=search)
            )
        return wallets

    @extend_schema(
        summary="Find wallets by owner e-mail or name (staff)",
        parameters=[
            OpenApiParameter(
                "search", str, description="Part of the owner's e-mail address or name."
            )
        ],
        tags=TAG,
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


class StaffWalletDetailView(APIView):
    permission_classes = [StaffPermission]
    required_permissions = VIEW_WALLETS

    @extend_schema(summary="One wallet (staff)", responses=StaffWalletSerializer, tags=TAG)
    def get(self, request, wallet_id: int):
        return Response(StaffWalletSerializer(_wallet(wallet_id)).data)


class StaffGrantView(APIView):
    permission_classes = [StaffPermission]
    required_permissions = CHANGE_WALLETS

    @extend_schema(
        summary="Grant credits to a wallet (staff)",
        parameters=[IDEMPOTENCY_HEADER],
        request=StaffGrantRequest,
        responses=POSTED_OR_ASKED,
        tags=TAG,
    )
    @idempotent(_outcome, ledger_result=False)
    def post(self, request, wallet_id: int):
        data = valid_data(StaffGrantRequest, request)
        return staff_powers.staff_grant(
            wallet=_wallet(wallet_id),
            amount=data["amount"],
            reason=data["reason"],
            promotional=data["promotional"],
            expires_at=data.get("expires_at"),
            priority=data["priority"],
            staff=request.user,
            idempotency_key=request.idempotency_key,
        )


class StaffDeductView(APIView):
    permission_classes = [StaffPermission]
    required_permissions = CHANGE_WALLETS

    @extend_schema(
        summary="Deduct credits from a wallet (staff)",
        parameters=[IDEMPOTENCY_HEADER],
        request=StaffDeductRequest,
        responses=POSTED_OR_ASKED,
        tags=TAG,
    )
    @idempotent(_outcome, ledger_result=False)
    def post(self, request, wallet_id: int):
        data = valid_data(StaffDeductRequest, request)
        return staff_powers.staff_deduct(
            wallet=_wallet(wallet_id),
            amount=data["amount"],
            reason=data["reason"],
            staff=request.user,
            idempotency_key=request.idempotency_key,
        )


STATUS_ACTIONS = {
    "freeze": services.freeze,
    "unfreeze": services.unfreeze,
    "suspend": services.suspend,
    "reactivate": services.reactivate,
}


class StaffStatusView(APIView):
    permission_classes = [StaffPermission]
    required_permissions = CHANGE_WALLETS

    @extend_schema(
        summary="Freeze, unfreeze, suspend or reactivate a wallet (staff)",
        request=StatusRequest,
        responses={200: StaffWalletSerializer, 422: REFUSALS[422]},
        tags=TAG,
    )
    def post(self, request, wallet_id: int):
        data = valid_data(StatusRequest, request)
        wallet = _wallet(wallet_id)
        STATUS_ACTIONS[data["action"]](
            wallet=wallet, reason=data["reason"], actor=staff_actor(request)
        )
        return Response(StaffWalletSerializer(_wallet(wallet_id)).data)


class ApprovalFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(
        choices=ApprovalRequest.Status.choices, method="filter_status"
    )

    class Meta:
        model = ApprovalRequest
        fields = ["status"]

    def filter_status(self, queryset, name, value):
        return selectors.approvals_with_status(queryset, value)


@page_size_errors
class StaffApprovalListView(generics.ListAPIView):
    permission_classes = [StaffPermission]
    required_permissions = {"GET": "credits.view_approvalrequest"}
    serializer_class = ApprovalRequestSerializer
    filterset_class = ApprovalFilter
    queryset = ApprovalRequest.objects.select_related("wallet__user", "requested_by", "decided_by")

    @extend_schema(summary="Approval requests, newest first (staff)", tags=TAG)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _approval(approval_id: int) -> ApprovalRequest:
    approval = ApprovalRequest.objects.filter(pk=approval_id).first()
    if approval is None:
        raise Http404
    return approval


class StaffApproveView(APIView):
    permission_classes = [StaffPermission]
    required_permissions = {"POST": "credits.decide_approvalrequest"}

    @extend_schema(
        summary="Approve a colleague's grant or deduction: it posts now (staff)",
        request=ApproveRequest,
        responses={200: ApprovalRequestSerializer, 422: REFUSALS[422]},
        tags=TAG,
    )
    def post(self, request, approval_id: int):
        data = valid_data(ApproveRequest, request)
        approval = staff_powers.approve(
            approval=_approval(approval_id), staff=request.user, note=data["note"]
        )
        return Response(ApprovalRequestSerializer(approval).data)


class StaffRefuseView(APIView):
    permission_classes = [StaffPermission]
    required_permissions = {"POST": "credits.decide_approvalrequest"}

    @extend_schema(
        summary="Refuse a colleague's grant or deduction: nothing posts (staff)",
        request=RefuseRequest,
        responses={200: ApprovalRequestSerializer, 422: REFUSALS[422]},
        tags=TAG,
    )
    def post(self, request, approval_id: int):
        data = valid_data(RefuseRequest, request)
        approval = staff_powers.refuse(
            approval=_approval(approval_id), staff=request.user, reason=data["reason"]
        )
        return Response(ApprovalRequestSerializer(approval).data)
