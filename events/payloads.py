"""Every event's payload in the OpenAPI schema: one serializer per shape of `data`, and the
envelope (`Event`) every delivery's body has. `add_event_components` (a drf-spectacular
postprocessing hook) adds them, and one `<Type>Event` component per event type, to the schema's
components: listeners generate their types from them. Never used to validate anything: the
payloads are written by the services that announce them (docs/events.md lists the same)."""

from drf_spectacular.plumbing import build_mocked_view
from drf_spectacular.utils import extend_schema
from rest_framework import serializers

from events.types import EVENT_TYPES


class EventSerializer(serializers.Serializer):
    """The body of every event (Standard Webhooks' envelope); `data` is its type's payload."""

    id = serializers.CharField(help_text="The event's id (`evt_…`), the `webhook-id` header.")
    type = serializers.CharField(help_text="The event type, such as `credits.spent`.")
    version = serializers.IntegerField(help_text="The version of this type's payload.")
    timestamp = serializers.DateTimeField(help_text="When it happened (UTC).")
    data = serializers.DictField(help_text="The payload: the `<Type>Event` component's `data`.")

    class Meta:
        ref_name = "Event"


class LedgerEventData(serializers.Serializer):
    """A ledger transaction (credits.*, hold.*, transfer.*) and the wallet's figures after it."""

    transaction_id = serializers.IntegerField()
    kind = serializers.CharField(
        help_text="The transaction's kind: grant, spend, hold, capture, release, refund, "
        "adjustment, transfer, expiry or revocation."
    )
    amount = serializers.IntegerField(help_text="Credits moved (whole credits).")
    user_id = serializers.IntegerField(help_text="The wallet's owner.")
    app_id = serializers.IntegerField(
        allow_null=True, help_text="The partner app that acted, if one did."
    )
    hold_id = serializers.IntegerField(allow_null=True)
    reference = serializers.CharField(allow_blank=True)
    description = serializers.CharField(allow_blank=True)
    metadata = serializers.DictField()
    balance = serializers.IntegerField(help_text="The wallet's balance after the transaction.")
    held = serializers.IntegerField(help_text="Credits reserved by open holds after it.")
    available = serializers.IntegerField(help_text="balance - held.")
    created_at = serializers.DateTimeField()
    source = serializers.CharField(
        required=False,
        help_text="Only when credits arrive: purchase, subscription, promotion, admin, refund "
        "or transfer.",
    )
    expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="Only when credits arrive: when the soonest of them expire (null: never).",
    )


class BalanceThresholdData(serializers.Serializer):
    """balance.low and balance.recovered: the threshold crossed and the wallet's figures."""

    user_id = serializers.IntegerField()
    threshold = serializers.IntegerField(help_text="The user's threshold that was crossed.")
    balance = serializers.IntegerField()
    available = serializers.IntegerField()


class CreditsExpiringData(serializers.Serializer):
    user_id = serializers.IntegerField()
    grant_id = serializers.IntegerField(help_text="The block of credits that will expire.")
    amount = serializers.IntegerField(help_text="Credits of the block still left.")
    expires_at = serializers.DateTimeField()
    days_left = serializers.IntegerField(help_text="7 or 1.")
    balance = serializers.IntegerField()


class WalletStatusChangedData(serializers.Serializer):
    user_id = serializers.IntegerField()
    status = serializers.CharField(help_text="active, frozen or suspended.")
    previous_status = serializers.CharField()
    reason = serializers.CharField(allow_blank=True)
    changed_at = serializers.DateTimeField()


class PurchasePaidData(serializers.Serializer):
    purchase_id = serializers.IntegerField()
    package = serializers.CharField(help_text="The credit pack's name.")
    credits = serializers.IntegerField()
    bonus_credits = serializers.IntegerField()
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="The price paid, a decimal string."
    )
    currency = serializers.CharField(help_text="ISO 4217, lower case: usd.")
    paid_at = serializers.DateTimeField()


class PurchaseRefundedData(serializers.Serializer):
    purchase_id = serializers.IntegerField()
    package = serializers.CharField()
    refunded_amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="The amount refunded, a decimal string."
    )
    currency = serializers.CharField()
    credits_taken_back = serializers.IntegerField()
    refunded_at = serializers.DateTimeField()


class SubscriptionRenewedData(serializers.Serializer):
    subscription_id = serializers.IntegerField()
    plan = serializers.CharField(help_text="The plan's name.")
    credits = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    period_start = serializers.DateTimeField()
    period_end = serializers.DateTimeField()


class StepData(serializers.Serializer):
    """What a dispute's or a job's step says, as its e-mail says it (notifications)."""

    user_id = serializers.IntegerField(help_text="The user the dispute or job is about.")
    subject = serializers.CharField()
    message = serializers.CharField(help_text="The step, in sentences.")
    notify = serializers.ChoiceField(choices=["user", "team"])
    recipient_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text="The users the step's e-mail goes to."
    )
    path = serializers.CharField(help_text="The page the e-mail links to.")


class DisputeStepData(StepData):
    dispute_id = serializers.IntegerField()
    status = serializers.CharField()
    level = serializers.IntegerField(help_text="1, or 2 once escalated.")
    reason = serializers.CharField()
    amount = serializers.IntegerField(help_text="Credits disputed.")
    transaction_id = serializers.IntegerField(allow_null=True)
    milestone_id = serializers.IntegerField(allow_null=True)


class JobStepData(StepData):
    job_id = serializers.IntegerField()
    title = serializers.CharField()
    status = serializers.CharField()
    budget = serializers.IntegerField()
    milestone_id = serializers.IntegerField(allow_null=True)
    milestone_title = serializers.CharField(allow_null=True)
    milestone_status = serializers.CharField(allow_null=True)
    amount = serializers.IntegerField(allow_null=True)


class WebhookEndpointDisabledData(serializers.Serializer):
    app_id = serializers.IntegerField()
    app_name = serializers.CharField()
    endpoint_id = serializers.IntegerField()
    url = serializers.URLField()
    reason = serializers.CharField(help_text="Why it was disabled, in a sentence.")
    disabled_at = serializers.DateTimeField()


LEDGER_TYPES = [
    name for name in EVENT_TYPES if name.split(".")[0] in ("credits", "hold", "transfer")
]
PAYLOADS: dict[str, type[serializers.Serializer]] = {
    **{name: LedgerEventData for name in LEDGER_TYPES},
    "credits.expiring": CreditsExpiringData,
    "balance.low": BalanceThresholdData,
    "balance.recovered": BalanceThresholdData,
    "wallet.status_changed": WalletStatusChangedData,
    "purchase.paid": PurchasePaidData,
    "purchase.refunded": PurchaseRefundedData,
    "subscription.renewed": SubscriptionRenewedData,
    **{name: DisputeStepData for name in EVENT_TYPES if name.startswith("dispute.")},
    **{name: JobStepData for name in EVENT_TYPES if name.split(".")[0] in ("job", "milestone")},
    "webhook.endpoint_disabled": WebhookEndpointDisabledData,
}


def component_name(event_type: str) -> str:
    """`credits.granted` → `CreditsGrantedEvent`; `wallet.status_changed` →
    `WalletStatusChangedEvent`."""
    words = event_type.replace(".", "_").split("_")
    return "".join(word.capitalize() for word in words) + "Event"


def add_event_components(result, generator, request, public):
    """Postprocessing hook: the envelope, every payload shape, and one component per type."""
    view = build_mocked_view("post", "/", extend_schema(), generator.registry)
    references = {
        serializer: view.schema.resolve_serializer(serializer, "response").ref
        for serializer in {EventSerializer, *PAYLOADS.values()}
    }
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(generator.registry.build({}).get("schemas", {}))
    for name, kind in EVENT_TYPES.items():
        schemas[component_name(name)] = {
            "description": f"`{name}` version {kind.version}: {kind.summary}",
            "allOf": [
                references[EventSerializer],
                {
                    "type": "object",
                    "properties": {
                        "type": {"type": "string", "enum": [name]},
                        "version": {"type": "integer", "enum": [kind.version]},
                        "data": references[PAYLOADS[name]],
                    },
                },
            ],
        }
    result["components"]["schemas"] = dict(sorted(schemas.items()))
    return result
