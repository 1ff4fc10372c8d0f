"""What the jobs API answers (jobs, milestones, deliveries, links, the log, statistics) and the
bodies it reads. The bodies check types and sizes; the job rules (a due date in the past, an
unsafe address, a plan that does not add up) are the services', which name the field they
refuse (a 400 on it, as a serializer's would be)."""

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail, ValidationError

from core.fields import JsonIntegerField
from credits.api.serializers import AmountField
from jobs.models import Activity, Delivery, File, Job, Link, Milestone
from jobs.services.drafts import MAX_MILESTONES

# A milestone's amount and a budget are stored in a PositiveIntegerField.
MAX_JOB_AMOUNT = 2_000_000_000
LONG_TEXT = 20_000


class LinkSerializer(serializers.ModelSerializer):
    class Meta:
        model = Link
        fields = ["id", "label", "url", "created_at"]


class MilestoneSerializer(serializers.ModelSerializer):
    paid = serializers.SerializerMethodField(help_text="Credits paid for it so far.")

    class Meta:
        model = Milestone
        fields = ["id", "position", "title", "description", "due_date", "amount", "status"]
        fields += ["paid", "review_ends_at", "decided_at", "decision_reason"]

    def get_paid(self, milestone: Milestone) -> int:
        return milestone.hold.captured_amount if milestone.hold_id else 0


class JobSerializer(serializers.ModelSerializer):
    assignee = serializers.EmailField(source="assignee.email", read_only=True, allow_null=True)

    class Meta:
        model = Job
        fields = ["id", "title", "summary", "category", "priority", "status", "budget"]
        fields += ["assignee", "created_at", "updated_at", "submitted_at", "closed_at"]


class JobDetailSerializer(JobSerializer):
    """A job with every section, its milestones (the plan) and its resource links."""

    milestones = MilestoneSerializer(many=True, read_only=True)
    links = LinkSerializer(source="job_links", many=True, read_only=True)

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "company", "industry", "audience", "website"]
        fields += ["scope", "requirements", "deliverables", "colours", "fonts", "style_notes"]
        fields += ["references", "milestones", "links"]

    def to_representation(self, job: Job):
        if not hasattr(job, "job_links"):  # a job a service returned, not the selector's
            job.job_links = list(job.links.filter(delivery__isnull=True))
        return super().to_representation(job)


class StaffJobSerializer(JobSerializer):
    client = serializers.EmailField(source="client.email", read_only=True)

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "client", "assigned_at"]


class StaffJobDetailSerializer(JobDetailSerializer):
    client = serializers.EmailField(source="client.email", read_only=True)

    class Meta(JobDetailSerializer.Meta):
        fields = [*JobDetailSerializer.Meta.fields, "client", "assigned_at"]


class DeliveredFileSerializer(serializers.ModelSerializer):
    class Meta:
        model = File
        fields = ["id", "name", "size", "content_type"]


class DeliverySerializer(serializers.ModelSerializer):
    delivered_by = serializers.EmailField(source="delivered_by.email", read_only=True)
    files = DeliveredFileSerializer(many=True, read_only=True)
    links = LinkSerializer(many=True, read_only=True)

    class Meta:
        model = Delivery
        fields = ["id", "number", "message", "delivered_by", "delivered_at", "files", "links"]


class ActivitySerializer(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField(help_text="Who; null for CreditDesk's own clock.")
    what = serializers.CharField(source="get_verb_display", read_only=True)
    details = serializers.DictField(read_only=True, help_text="The step's figures.")

    class Meta:
        model = Activity
        fields = ["id", "verb", "what", "actor", "milestone", "reason", "details", "created_at"]

    def get_actor(self, activity: Activity) -> str | None:
        return activity.actor.email if activity.actor_id else None


class StatusCountsSerializer(serializers.Serializer):
    """How many jobs are in each status (0 when none): one field per Job.Status."""

    draft = serializers.IntegerField()
    open = serializers.IntegerField()
    in_progress = serializers.IntegerField()
    completed = serializers.IntegerField()
    cancelled = serializers.IntegerField()


class StatisticsSerializer(serializers.Serializer):
    jobs = serializers.IntegerField(help_text="Every job counted, whatever its status.")
    jobs_by_status = StatusCountsSerializer()
    reserved = serializers.IntegerField(help_text="Credits held now for milestones not decided.")
    captured = serializers.IntegerField(help_text="Credits paid for milestones.")
    released = serializers.IntegerField(help_text="Credits reserved and given back.")
    overdue_milestones = serializers.IntegerField(
        help_text="Funded, or waiting for changes, past their due date."
    )
    median_review_hours = serializers.FloatField(
        allow_null=True, help_text="From the last delivery to the decision to pay; null if none."
    )


# --- requests --------------------------------------------------------------------------------


class StrictSerializer(serializers.Serializer):
    """A body inside a body (a milestone of a plan, a link of a delivery): a field it does not
    declare is a 400 `unknown_field`, as core.api.parsers.valid_data does for the outer one."""

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                known = ", ".join(self.fields)
                message = f"Unknown field: this takes {known}."
                raise ValidationError(
                    {name: [ErrorDetail(message, code="unknown_field")] for name in unknown}
                )
        return super().to_internal_value(data)


class JobAmountField(AmountField):
    def __init__(self, **kwargs):
        kwargs.setdefault("max_value", MAX_JOB_AMOUNT)
        super().__init__(**kwargs)


def _text(max_length: int = LONG_TEXT, **kwargs):
    return serializers.CharField(max_length=max_length, required=False, allow_blank=True, **kwargs)


class DraftFields(serializers.Serializer):
    """A draft's fields, every section; each may be left out (a draft is saved incomplete)."""

    title = serializers.CharField(min_length=1, max_length=200, required=False)
    summary = _text()
    category = serializers.ChoiceField(choices=Job.Category.choices, required=False)
    priority = serializers.ChoiceField(choices=Job.Priority.choices, required=False)
    company = _text(200)
    industry = _text(200)
    audience = _text(500)
    website = _text(500, help_text="An http:// or https:// address.")
    scope = _text()
    requirements = _text()
    deliverables = _text()
    colours = _text(500)
    fonts = _text(500)
    style_notes = _text()
    references = _text()
    budget = JobAmountField(
        required=False, help_text="In credits; the milestones must add up to it to submit."
    )


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A new draft",
            value={"title": "A brand refresh", "priority": "high", "budget": 1000},
            request_only=True,
        )
    ]
)
class CreateDraftRequest(DraftFields):
    title = serializers.CharField(min_length=1, max_length=200)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Business info",
            value={"company": "Acme", "website": "https://acme.example"},
            request_only=True,
        )
    ]
)
class EditDraftRequest(DraftFields):
    pass


class MilestonePlanRequest(StrictSerializer):
    title = serializers.CharField(min_length=1, max_length=200)
    description = _text(default="")
    due_date = serializers.DateField(help_text="Today or later.")
    amount = JobAmountField()


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Two milestones",
            value={
                "milestones": [
                    {"title": "Logo", "due_date": "2027-03-01", "amount": 600},
                    {"title": "Style guide", "due_date": "2027-03-15", "amount": 400},
                ]
            },
            request_only=True,
        )
    ]
)
class PlanRequest(serializers.Serializer):
    milestones = MilestonePlanRequest(
        many=True,
        max_length=MAX_MILESTONES,
        help_text="The whole plan, in order: it replaces the draft's milestones.",
    )


@extend_schema_serializer(
    examples=[
        OpenApiExample("A link", value={"label": "Brand book", "url": "https://acme.example/brand"})
    ]
)
class LinkRequest(StrictSerializer):
    label = serializers.CharField(min_length=1, max_length=200)
    url = serializers.CharField(
        min_length=1, max_length=2000, help_text="http:// or https:// only."
    )


class EmptyRequest(serializers.Serializer):
    """This step takes no field: the body is empty (or `{}`)."""


@extend_schema_serializer(
    examples=[OpenApiExample("A reason", value={"reason": "Plans changed."}, request_only=True)]
)
class CancelRequest(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Pay part", value={"amount": 450, "reason": "One logo missing"}, request_only=True
        )
    ]
)
class AcceptPartRequest(serializers.Serializer):
    amount = JobAmountField(help_text="Credits paid: less than the milestone's amount.")
    reason = serializers.CharField(min_length=1, max_length=2000)


@extend_schema_serializer(
    examples=[
        OpenApiExample("Changes", value={"reason": "Bigger type, please."}, request_only=True)
    ]
)
class ChangesRequest(serializers.Serializer):
    reason = serializers.CharField(min_length=1, max_length=2000)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Assign to a colleague",
            value={"assignee_email": "carol@example.com"},
            request_only=True,
        )
    ]
)
class JobAssignRequest(serializers.Serializer):
    assignee_email = serializers.EmailField(
        required=False, help_text="A staff member who may deliver jobs; default: the caller."
    )


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "A delivery",
            value={
                "message": "The logo, in three sizes.",
                "files": [31],
                "links": [{"label": "Preview", "url": "https://acme.example/preview"}],
            },
            request_only=True,
        )
    ]
)
class DeliverRequest(serializers.Serializer):
    message = serializers.CharField(min_length=1, max_length=LONG_TEXT)
    files = serializers.ListField(
        child=JsonIntegerField(min_value=1),
        required=False,
        default=list,
        max_length=100,
        help_text="Ids of the job's files.",
    )
    links = LinkRequest(many=True, required=False, default=list, max_length=100)
