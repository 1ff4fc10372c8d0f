from rest_framework import serializers

from accounts.models import User

# The fields a partner app sees only with a scope (a person sees all of theirs).
SCOPED_FIELDS = {"name": "profile", "email": "email"}


class MeSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "name"]
        read_only_fields = fields
        extra_kwargs = {
            "email": {"required": False, "help_text": "To a partner app: with `email` only."},
            "name": {"required": False, "help_text": "To a partner app: with `profile` only."},
        }

    def to_representation(self, instance):
        shown = super().to_representation(instance)
        request = self.context.get("request")
        granted = getattr(getattr(request, "auth", None), "partner_scopes", None)
        if granted is not None:
            for field, scope in SCOPED_FIELDS.items():
                if scope not in granted:
                    shown.pop(field, None)
        return shown
