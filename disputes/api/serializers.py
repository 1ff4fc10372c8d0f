from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from core.fields import JsonIntegerField
from credits.api.serializers import AmountField
from disputes.models import Dispute, DisputeMessage
from disputes.services import MILESTONE_REASONS


class MessageSerializer(serializers.ModelSerializer):
    from_staff = serializers.SerializerMethodField()

    class Meta:
        model = DisputeMessage
        fields = ["id", "body", "from_staff", "created_at"]

    def get_from_staff(self, message: DisputeMessage) -> bool:
        return message.author_id != message.dispute.user_id


class DisputeSerializer(serializers.ModelSerializer):
    refunded = serializers.IntegerField(
        source="refunded_amount",
        read_only=True,
        help_text="Credits won back: the refund, or for a milestone what was given back unpaid.",
    )
    job = serializers.IntegerField(
        source="milestone.job_id",
        read_only=True,
        allow_null=True,
        help_text="The job of the disputed milestone; null for a dispute about a transaction.",
    )

    class Meta:
        model = Dispute
        fields = ["id", "transaction", "job", "milestone", "reason", "description", "amount"]
        fields += ["status", "level", "refunded", "rejection_reason", "created_at", "closed_at"]
        extra_kwargs = {
            "transaction": {
                "help_text": "The disputed transaction; for a milestone, its capture once a "
                "rejection paid it (null before)."
            },
            "milestone": {"help_text": "The disputed milestone; null for a transaction."},
        }


class DisputeDetailSerializer(DisputeSerializer):
    messages = serializers.SerializerMethodField()

    class Meta(DisputeSerializer.Meta):
        fields = [*DisputeSerializer.Meta.fields, "messages"]

    def get_messages(self, dispute: Dispute) -> list[dict]:
        public = [m for m in dispute.messages.all() if not m.internal]
        return MessageSerializer(public, many=True).data


class StaffDisputeSerializer(DisputeSerializer):
    user = serializers.EmailField(source="user.email", read_only=True)
    assignee = serializers.EmailField(source="assignee.email", read_only=True, allow_null=True)

    class Meta(DisputeSerializer.Meta):
        fields = [*DisputeSerializer.Meta.fields, "user", "assignee", "first_response_at"]


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A dispute",
            value={
                "transaction": 4521,
                "reason": "not_delivered",
                "description": "The job failed but was charged.",
                "amount": 120,
            },
            request_only=True,
        )
    ]
)
class OpenDisputeRequest(serializers.Serializer):
    transaction = JsonIntegerField()
    reason = serializers.ChoiceField(choices=Dispute.Reason.choices)
    description = serializers.CharField(min_length=1, max_length=4000)
    amount = AmountField()


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A milestone dispute",
            value={
                "reason": "poor_quality",
                "description": "Half the pages are missing.",
                "amount": 300,
            },
            request_only=True,
        )
    ]
)
class OpenMilestoneDisputeRequest(serializers.Serializer):
    # The one reason enum of the schema; a reason that does not fit work (a duplicate charge) is
    # refused by the service as a 400 on `reason`.
    reason = serializers.ChoiceField(
        choices=Dispute.Reason.choices,
        help_text="One of " + ", ".join(f"`{r.value}`" for r in MILESTONE_REASONS) + ".",
    )
    description = serializers.CharField(min_length=1, max_length=4000)
    amount = AmountField(help_text="Credits asked back: 1 to the milestone's amount.")


@extend_schema_serializer(
    examples=[
        OpenApiExample("A reply", value={"body": "Here is the job id: 88."}, request_only=True)
    ]
)
class MessageRequest(serializers.Serializer):
    body = serializers.CharField(min_length=1, max_length=4000)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "An escalation",
            value={"reason": "The rejection ignores the failed job log."},
            request_only=True,
        )
    ]
)
class EscalateRequest(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A partial refund",
            value={"amount": 60, "note": "Refunded the failed half."},
            request_only=True,
        )
    ]
)
class ResolveRequest(serializers.Serializer):
    amount = AmountField()
    note = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A rejection", value={"reason": "The job completed; see its log."}, request_only=True
        )
    ]
)
class RejectRequest(serializers.Serializer):
    reason = serializers.CharField(min_length=1, max_length=4000)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Assign to a colleague",
            value={"assignee_email": "carol@example.com"},
            request_only=True,
        )
    ]
)
class AssignRequest(serializers.Serializer):
    assignee_email = serializers.EmailField(
        required=False, help_text="A staff member; default: the caller."
    )
