from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from core.fields import JsonIntegerField
from credits.models import Allocation, CreditGrant, CreditTransaction, Entry, Hold, Wallet
from credits.services.rules import MAX_AMOUNT


class ExpiringSerializer(serializers.Serializer):
    credits = serializers.IntegerField()
    first_at = serializers.DateTimeField(allow_null=True)


class WalletSerializer(serializers.ModelSerializer):
    available = serializers.IntegerField(read_only=True)
    expiring_soon = ExpiringSerializer(read_only=True, help_text="Within 30 days.")

    class Meta:
        model = Wallet
        fields = ["id", "balance", "available", "held", "status", "expiring_soon"]


class MovementSerializer(serializers.ModelSerializer):
    """One movement of the wallet's balance: a transaction as this wallet saw it."""

    transaction = serializers.IntegerField(source="transaction_id")
    kind = serializers.CharField(source="transaction.kind")
    description = serializers.CharField(source="transaction.description")
    reference = serializers.CharField(source="transaction.reference")

    class Meta:
        model = Entry
        fields = ["id", "transaction", "kind", "amount", "balance_after", "description"]
        fields += ["reference", "created_at"]


class GrantSerializer(serializers.ModelSerializer):
    kind = serializers.SerializerMethodField()

    class Meta:
        model = CreditGrant
        fields = ["id", "source", "kind", "amount", "remaining", "expires_at", "priority"]
        fields += ["cost_basis", "currency", "created_at"]

    def get_kind(self, grant: CreditGrant) -> str:
        return "promotional" if grant.is_promotional else "paid"


class AllocationSerializer(serializers.ModelSerializer):
    grant = GrantSerializer(read_only=True)

    class Meta:
        model = Allocation
        fields = ["grant", "amount"]


class TransactionSerializer(serializers.ModelSerializer):
    class Meta:
        model = CreditTransaction
        fields = ["id", "kind", "amount", "description", "reference", "metadata", "hold"]
        fields += ["reverses", "actor_kind", "created_at"]


class TransactionDetailSerializer(TransactionSerializer):
    # Only the caller's own blocks (see selectors.transaction_detail_for).
    allocations = AllocationSerializer(source="own_allocations", many=True, read_only=True)
    refunds = serializers.SerializerMethodField()

    class Meta(TransactionSerializer.Meta):
        fields = [*TransactionSerializer.Meta.fields, "allocations", "refunds"]

    def get_refunds(self, txn: CreditTransaction) -> list[dict]:
        refunds = [r for r in txn.reversals.all() if r.kind == CreditTransaction.Kind.REFUND]
        return TransactionSerializer(refunds, many=True).data


class HoldSerializer(serializers.ModelSerializer):
    uncaptured = serializers.IntegerField(read_only=True)

    class Meta:
        model = Hold
        fields = ["id", "amount", "captured_amount", "uncaptured", "status", "description"]
        fields += ["reference", "expires_at", "created_at", "closed_at"]


# --- requests --------------------------------------------------------------------------------


class AmountField(JsonIntegerField):
    """Every amount the API reads: a JSON integer of 1 to MAX_AMOUNT credits."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", MAX_AMOUNT)
        super().__init__(**kwargs)


class SpendRequest(serializers.Serializer):
    amount = AmountField()
    description = serializers.CharField(min_length=1, max_length=255)
    reference = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)


class HoldRequest(SpendRequest):
    expires_at = serializers.DateTimeField(
        required=False, help_text="Default: a week from now. An open hold past it is released."
    )


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Capture part, give the rest back",
            value={"amount": 80, "final": True},
            request_only=True,
        )
    ]
)
class CaptureRequest(serializers.Serializer):
    amount = AmountField(required=False, help_text="Default: all the hold still reserves.")
    final = serializers.BooleanField(
        default=True, help_text="Close the hold and give the rest back (default true)."
    )


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A transfer",
            value={
                "receiver_email": "bob@example.com",
                "amount": 250,
                "description": "Shared project",
            },
            request_only=True,
        )
    ]
)
class TransferRequest(serializers.Serializer):
    receiver_email = serializers.EmailField()
    amount = AmountField()
    description = serializers.CharField(
        max_length=255, required=False, default="", allow_blank=True
    )


class StatementQuery(serializers.Serializer):
    # "from" is a Python keyword: declared below.
    to = serializers.DateField()

    def validate(self, data):
        if data["to"] > timezone.localdate():
            raise serializers.ValidationError({"to": "The end date cannot be after today."})
        if data["from"] > data["to"]:
            raise serializers.ValidationError({"to": "The end date must not be before the start."})
        return data


StatementQuery._declared_fields["from"] = serializers.DateField()
