from rest_framework import serializers

from disputes.models import Dispute, DisputeMessage


class MessageSerializer(serializers.ModelSerializer):
    from_staff = serializers.SerializerMethodField()

    class Meta:
        model = DisputeMessage
        fields = ["id", "body", "from_staff", "created_at"]

    def get_from_staff(self, message: DisputeMessage) -> bool:
        return message.author_id != message.dispute.user_id


class DisputeSerializer(serializers.ModelSerializer):
    refunded = serializers.IntegerField(source="refunded_amount", read_only=True)

    class Meta:
        model = Dispute
        fields = ["id", "transaction", "reason", "description", "amount", "status", "level"]
        fields += ["refunded", "rejection_reason", "created_at", "closed_at"]


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


class OpenDisputeRequest(serializers.Serializer):
    transaction = serializers.IntegerField()
    reason = serializers.ChoiceField(choices=Dispute.Reason.choices)
    description = serializers.CharField(max_length=4000)
    amount = serializers.IntegerField(min_value=1)


class MessageRequest(serializers.Serializer):
    body = serializers.CharField(max_length=4000)


class EscalateRequest(serializers.Serializer):
    reason = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True)


class ResolveRequest(serializers.Serializer):
    amount = serializers.IntegerField(min_value=1)
    note = serializers.CharField(max_length=4000, required=False, default="", allow_blank=True)


class RejectRequest(serializers.Serializer):
    reason = serializers.CharField(max_length=4000)


class AssignRequest(serializers.Serializer):
    assignee_email = serializers.EmailField(
        required=False, help_text="A staff member; default: the caller."
    )
