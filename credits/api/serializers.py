from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from core.fields import JsonIntegerField
from credits.models import Allocation, CreditGrant, CreditTransaction, Entry, Hold, Wallet
from credits.services.rules import MAX_AMOUNT, METADATA_MAX_KEYS, METADATA_RULE

METADATA_HELP = (
    f"Your own notes on this operation (an order id, a customer…), stored and shown back as "
    f"given: {METADATA_RULE}. More is a 400 on `metadata`."
)


@extend_schema_field(
    {
        "type": "object",
        "maxProperties": METADATA_MAX_KEYS,
        "additionalProperties": {
            "oneOf": [
                {"type": "string", "maxLength": 500},
                {"type": "integer"},
                {"type": "boolean"},
            ],
            "nullable": True,
        },
    }
)
class MetadataField(serializers.JSONField):
    """The caller's metadata: a JSON object (its limits are the ledger's: rules.check_metadata,
    so every surface keeps the same ones)."""

    default_error_messages = {"invalid": f"Metadata must be {METADATA_RULE}."}

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", METADATA_HELP)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("invalid")
        return super().to_internal_value(data)


class ExpiringSerializer(serializers.Serializer):
    credits = serializers.IntegerField()
    first_at = serializers.DateTimeField(allow_null=True)


class WalletSerializer(serializers.ModelSerializer):
    available = serializers.IntegerField(read_only=True)
    expiring_soon = ExpiringSerializer(read_only=True, help_text="Within 30 days.")

    class Meta:
        model = Wallet
        fields = ["id", "balance", "available", "held", "status", "expiring_soon"]


class EntrySerializer(serializers.ModelSerializer):
    """This wallet's leg of a transaction: how much its balance moved (signed), and to what."""

    class Meta:
        model = Entry
        fields = ["id", "amount", "balance_after"]


class AskedByAppSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="The app's id: the history's `app` filter takes it.")
    name = serializers.CharField(help_text="The app's name when it asked.")


def asked_by_app(txn: CreditTransaction) -> dict | None:
    """The partner app that asked for the transaction, or None (a person or CreditDesk did)."""
    if txn.actor_app_id is None:
        return None
    return {"id": txn.actor_app_id, "name": txn.actor_label}


APP_HELP = "The partner app that asked for it; null when you or CreditDesk did."


class MovementSerializer(serializers.ModelSerializer):
    """One movement of the wallet's balance: a transaction, as this wallet saw it. Its `id` is
    the transaction's, the one GET /transactions/{id} takes; the wallet's leg is `entry`."""

    id = serializers.IntegerField(source="transaction_id")
    kind = serializers.CharField(source="transaction.kind")
    description = serializers.CharField(source="transaction.description")
    reference = serializers.CharField(source="transaction.reference")
    metadata = MetadataField(source="transaction.metadata", help_text="")
    entry = EntrySerializer(source="*")
    app = serializers.SerializerMethodField(help_text=APP_HELP)

    class Meta:
        model = Entry
        fields = ["id", "kind", "description", "reference", "metadata", "entry", "app"]
        fields += ["created_at"]

    @extend_schema_field(AskedByAppSerializer(allow_null=True))
    def get_app(self, entry: Entry) -> dict | None:
        return asked_by_app(entry.transaction)


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
    metadata = MetadataField(
        read_only=True, help_text="What the caller gave, beside the ledger's own keys."
    )
    app = serializers.SerializerMethodField(help_text=APP_HELP)

    class Meta:
        model = CreditTransaction
        fields = ["id", "kind", "amount", "description", "reference", "metadata", "hold"]
        fields += ["reverses", "actor_kind", "app", "created_at"]

    @extend_schema_field(AskedByAppSerializer(allow_null=True))
    def get_app(self, txn: CreditTransaction) -> dict | None:
        return asked_by_app(txn)


class WalletFiguresSerializer(TransactionSerializer):
    """A transaction that moved the caller's credits, with the wallet's figures right after
    it (taken from the row the operation locked and wrote: no query of their own)."""

    balance = serializers.IntegerField(
        source="wallet.balance", read_only=True, help_text="The wallet's balance after it."
    )
    available = serializers.IntegerField(
        source="wallet.available",
        read_only=True,
        help_text="What the wallet may spend after it (balance minus held).",
    )

    class Meta(TransactionSerializer.Meta):
        fields = [*TransactionSerializer.Meta.fields, "balance", "available"]


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
    metadata = MetadataField(read_only=True, help_text="What the caller gave.")

    class Meta:
        model = Hold
        fields = ["id", "amount", "captured_amount", "uncaptured", "status", "description"]
        fields += ["reference", "metadata", "expires_at", "created_at", "closed_at"]
        extra_kwargs = {
            "expires_at": {
                "help_text": "When `credits_release_holds` releases the hold if it is still "
                "open. null: the hold has no expiry and only a capture or a release ends it "
                "(CreditDesk's own holds, such as a job milestone's); a hold placed through the "
                "API always has one."
            }
        }


class PlacedHoldSerializer(HoldSerializer):
    """A hold just placed, with the wallet's figures right after it (as WalletFigures)."""

    balance = serializers.IntegerField(source="wallet.balance", read_only=True)
    available = serializers.IntegerField(
        source="wallet.available",
        read_only=True,
        help_text="What the wallet may spend now that the hold reserves its credits.",
    )

    class Meta(HoldSerializer.Meta):
        fields = [*HoldSerializer.Meta.fields, "balance", "available"]


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
    metadata = MetadataField(required=False)


class HoldRequest(SpendRequest):
    expires_at = serializers.DateTimeField(
        required=False,
        help_text="Default: CREDITS_HOLD_TTL_HOURS (a week) from now; at most "
        "CREDITS_HOLD_MAX_TTL_DAYS (90 days) ahead, later is a 400 on `expires_at`. An open "
        "hold past it is released.",
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
    description = serializers.CharField(
        max_length=255,
        required=False,
        default="",
        allow_blank=True,
        help_text="The capture's own description; default: the hold's.",
    )
    metadata = MetadataField(required=False)


class RefundRequest(serializers.Serializer):
    amount = AmountField(required=False, help_text="Default: all that is left to refund.")
    reason = serializers.CharField(
        min_length=1,
        max_length=255,
        help_text="Why the credits are given back: the refund's description in the history.",
    )


class ReleaseRequest(serializers.Serializer):
    """A release takes no field: the body is empty (or `{}`)."""


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
    metadata = MetadataField(required=False)


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
