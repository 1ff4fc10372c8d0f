"""Staff's credits API: find wallets, grant, deduct, freeze/unfreeze/suspend/reactivate."""

from django.db.models import Q
from django.http import Http404
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import (
    IDEMPOTENCY_HEADER,
    REFUSALS,
    Pages,
    actor_for,
    idempotent,
    page_size_errors,
    valid_data,
)
from credits import services
from credits.api.serializers import AmountField, TransactionSerializer
from credits.models import Wallet

TAG = ["staff"]


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
    priority = serializers.IntegerField(min_value=0, max_value=100, default=50)


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


def _wallet(wallet_id: int) -> Wallet:
    wallet = (
        Wallet.objects.filter(pk=wallet_id, kind=Wallet.Kind.USER).select_related("user").first()
    )
    if wallet is None:
        raise Http404
    return wallet


@page_size_errors
class StaffWalletListView(generics.ListAPIView):
    permission_classes = [IsAdminUser]
    serializer_class = StaffWalletSerializer
    pagination_class = Pages

    def get_queryset(self):
        wallets = Wallet.objects.filter(kind=Wallet.Kind.USER).select_related("user").order_by("id")
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
    permission_classes = [IsAdminUser]

    @extend_schema(summary="One wallet (staff)", responses=StaffWalletSerializer, tags=TAG)
    def get(self, request, wallet_id: int):
        return Response(StaffWalletSerializer(_wallet(wallet_id)).data)


class StaffGrantView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="Grant credits to a wallet (staff)",
        parameters=[IDEMPOTENCY_HEADER],
        request=StaffGrantRequest,
        responses={201: TransactionSerializer, **REFUSALS},
        tags=TAG,
    )
    @idempotent
    def post(self, request, wallet_id: int):
        data = valid_data(StaffGrantRequest, request)
        txn = services.grant(
            wallet=_wallet(wallet_id),
            amount=data["amount"],
            source="admin",
            is_promotional=data["promotional"],
            expires_at=data.get("expires_at"),
            priority=data["priority"],
            description=data["reason"],
            actor=actor_for(request),
            idempotency_key=f"api:{request.idempotency_key}",
        )
        return Response(TransactionSerializer(txn).data, status=status.HTTP_201_CREATED)


class StaffDeductView(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(
        summary="Deduct credits from a wallet (staff)",
        parameters=[IDEMPOTENCY_HEADER],
        request=StaffDeductRequest,
        responses={201: TransactionSerializer, **REFUSALS},
        tags=TAG,
    )
    @idempotent
    def post(self, request, wallet_id: int):
        data = valid_data(StaffDeductRequest, request)
        txn = services.adjust(
            wallet=_wallet(wallet_id),
            amount=data["amount"],
            reason=data["reason"],
            actor=actor_for(request),
            idempotency_key=f"api:{request.idempotency_key}",
        )
        return Response(TransactionSerializer(txn).data, status=status.HTTP_201_CREATED)


STATUS_ACTIONS = {
    "freeze": services.freeze,
    "unfreeze": services.unfreeze,
    "suspend": services.suspend,
    "reactivate": services.reactivate,
}


class StaffStatusView(APIView):
    permission_classes = [IsAdminUser]

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
            wallet=wallet, reason=data["reason"], actor=actor_for(request)
        )
        return Response(StaffWalletSerializer(_wallet(wallet_id)).data)
