from datetime import date, timedelta

from django.utils import timezone
from rest_framework import serializers

from credits.api.serializers import HoldSerializer, TransactionSerializer

# The longest range /app/usage answers at once (a year and a day: a leap year's every day).
MAX_USAGE_DAYS = 366
DEFAULT_USAGE_DAYS = 30
DEFAULT_SPAN = timedelta(days=DEFAULT_USAGE_DAYS - 1)


class ConsentSerializer(serializers.Serializer):
    user = serializers.IntegerField(source="user_id", help_text="The user's id at CreditDesk.")
    email = serializers.SerializerMethodField(
        help_text="Only when the user gave the app the `email` scope; otherwise null."
    )
    scopes = serializers.SerializerMethodField()
    cap = serializers.IntegerField(help_text="The spending cap: credits per 30 days.")
    used = serializers.IntegerField(
        source="cap_use.used",
        help_text="Credits the app charged or holds in the last 30 days (refunds do not count).",
    )
    left = serializers.IntegerField(
        source="cap_use.left", help_text="What the app may still charge."
    )
    granted_at = serializers.DateTimeField()

    def get_email(self, consent) -> str | None:
        return consent.user.email if consent.shares_email else None

    def get_scopes(self, consent) -> list[str]:
        return consent.scopes.split()


class AppHoldSerializer(HoldSerializer):
    user = serializers.IntegerField(source="wallet.user_id", read_only=True)

    class Meta(HoldSerializer.Meta):
        fields = ["id", "user", *HoldSerializer.Meta.fields[1:]]


class ChargeSerializer(TransactionSerializer):
    user = serializers.IntegerField(source="wallet.user_id", read_only=True)

    class Meta(TransactionSerializer.Meta):
        fields = ["id", "user", "kind", "amount", "description", "reference", "metadata"]
        fields += ["hold", "reverses", "created_at"]


class UsageQuery(serializers.Serializer):
    # "from" is a Python keyword: declared below.
    to = serializers.DateField(required=False, help_text="Default: today (UTC).")

    def validate(self, data):
        for name in ("from", "to"):
            if self.initial_data.get(name) == "":
                raise serializers.ValidationError({name: "Give a date, or leave it out."})
        today = timezone.now().date()
        until = data.get("to") or today
        # At the calendar's start the default range is cut short, not an overflow.
        since = data.get("from") or max(until, date.min + DEFAULT_SPAN) - DEFAULT_SPAN
        if until > today:
            raise serializers.ValidationError({"to": "The end date cannot be after today."})
        if since > until:
            raise serializers.ValidationError({"from": "The start date must not be after the end."})
        if (until - since).days + 1 > MAX_USAGE_DAYS:
            raise serializers.ValidationError(
                {"from": f"Ask for at most {MAX_USAGE_DAYS} days at once."}
            )
        return {"from": since, "to": until}


UsageQuery._declared_fields["from"] = serializers.DateField(
    required=False, help_text=f"Default: {DEFAULT_USAGE_DAYS - 1} days before `to`."
)


class UsageDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    requests = serializers.IntegerField(help_text="Calls the app made (keys and tokens).")
    client_errors = serializers.IntegerField(help_text="Calls answered 4xx (429 included).")
    server_errors = serializers.IntegerField(help_text="Calls answered 5xx.")
    rate_limited = serializers.IntegerField(help_text="Calls answered 429 (past the rate limit).")
    held = serializers.IntegerField(help_text="Credits the app reserved with holds.")
    captured = serializers.IntegerField(help_text="Credits it captured from its holds.")
    spent = serializers.IntegerField(help_text="Credits it spent.")
    refunded = serializers.IntegerField(help_text="Credits it gave back.")
    active_users = serializers.IntegerField(help_text="Users it called for (OAuth tokens).")


# "from" is a Python keyword: the class is built with type() to keep from, to, days in order.
UsageSerializer = type(
    "UsageSerializer",
    (serializers.Serializer,),
    {
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "days": UsageDaySerializer(many=True, help_text="Every day of the range, oldest first."),
    },
)
