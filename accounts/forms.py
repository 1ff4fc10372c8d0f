from datetime import UTC, datetime, time, timedelta

from django import forms
from django.contrib.auth.forms import AdminPasswordChangeForm, AdminUserCreationForm, UserChangeForm
from django.utils import timezone

from accounts import services
from accounts.models import User

# An expiry further ahead than this is almost certainly a typo (and year 9999 overflows).
LONGEST_TOKEN_LIFE_DAYS = 3660


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["name"]
        labels = {"name": "Your name"}
        help_texts = {"name": "Shown to staff and on your statements."}


class ApiTokenForm(forms.Form):
    """Name and optional expiry of a new API token (the Account page)."""

    name = forms.CharField(
        max_length=100,
        label="Token name",
        help_text="What uses it, e.g. \u201cinvoice sync on the office server\u201d.",
    )
    expires_on = forms.DateField(
        required=False,
        label="Expires (optional)",
        widget=forms.DateInput({"type": "date"}),
        help_text="The token works until the end of this day (UTC). Leave empty for a token "
        "that works until you revoke it.",
    )

    def clean_expires_on(self):
        day = self.cleaned_data["expires_on"]
        if day is None:
            return None
        today = timezone.now().astimezone(UTC).date()
        if day < today:
            raise forms.ValidationError("Choose today or a later day.")
        if day > today + timedelta(days=LONGEST_TOKEN_LIFE_DAYS):
            raise forms.ValidationError("Choose a day within ten years, or leave it empty.")
        return day

    @property
    def expires_at(self) -> datetime | None:
        """The first moment the token no longer works: midnight UTC after the chosen day."""
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class UserChangeAdminForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class PasswordChangeAdminForm(AdminPasswordChangeForm):
    """The admin's "change password" page sets a password as every other way does: the user's
    other sessions end and their API tokens stop."""

    def save(self, commit=True):
        usable = self.cleaned_data.get("set_usable_password", True)
        services.set_password(
            user=self.user, password=self.cleaned_data["password1"] if usable else None
        )
        return self.user
