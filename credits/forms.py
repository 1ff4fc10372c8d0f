"""Forms for the wallet pages, and for staff operations on wallets (admin intermediate pages)."""

import uuid
from datetime import timedelta

from django import forms
from django.conf import settings
from django.utils import timezone

from accounts import lookups
from accounts.errors import ReceiverLookupsExhausted, ReceiverNotFound
from accounts.models import User
from core.fields import DigitsField
from credits import thresholds
from credits.errors import CreditError, IdempotencyConflict
from credits.models import CreditTransaction
from credits.selectors import HistoryFilter
from credits.services.rules import MAX_AMOUNT


class IdempotentForm(forms.Form):
    """A form that moves credits carries a key made when the page was drawn: submitting the same
    page twice (a double click, a browser resend) moves the credits once."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)


ALREADY_SENT = "This form was already sent with other details: reload the page to start again."


def refusal_text(error: CreditError) -> str:
    """A refusal as a page says it: the form's hidden key is not something to show a person."""
    return ALREADY_SENT if isinstance(error, IdempotencyConflict) else error.message


class CreditMovementForm(forms.Form):
    """A staff grant or deduction: its idempotency key comes from the form's once-token
    (core/once.py), not from a field drawn anew at each render."""

    amount = DigitsField(min_value=1, max_value=MAX_AMOUNT)
    reason = forms.CharField(
        max_length=255, help_text="Recorded on the transaction and shown to the user."
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].help_text = (
            f"Whole credits. More than {settings.CREDITS_STAFF_APPROVAL_ABOVE:,} at once, or "
            f"beyond your {settings.CREDITS_STAFF_DAILY_LIMIT:,} a day, waits for a colleague's "
            "approval."
        )


class GrantForm(CreditMovementForm):
    KINDS = [("paid", "Paid (counts as bought credits)"), ("promotional", "Promotional")]

    kind = forms.ChoiceField(choices=KINDS, initial="promotional")
    expires_at = forms.DateTimeField(
        required=False,
        help_text="In UTC, e.g. 2027-01-31 23:59. Leave empty for credits that never expire.",
    )
    priority = DigitsField(
        min_value=0,
        max_value=100,
        initial=50,
        help_text="Lower numbers are spent first (0 to 100; most grants use 50).",
    )

    field_order = ["amount", "kind", "expires_at", "priority", "reason"]

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("The expiry must be in the future.")
        return expires_at


class DeductForm(CreditMovementForm):
    """Staff corrections: they work on frozen wallets too (not on suspended ones)."""

    field_order = ["amount", "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "amount"
        ].help_text += " Taken in the same order as a spend; works on frozen wallets too."


class StatusForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why: kept in the wallet's status history.",
    )


# --- the user's pages -----------------------------------------------------------------------


FUTURE_END = "The end date cannot be after today."


class HistoryFilterForm(forms.Form):
    # Holds and releases move no credits (they reserve them), so they have no rows in a history.
    KIND_CHOICES = [
        ("", "All kinds"),
        *[
            choice
            for choice in CreditTransaction.Kind.choices
            if choice[0] not in (CreditTransaction.Kind.HOLD, CreditTransaction.Kind.RELEASE)
        ],
    ]

    kind = forms.ChoiceField(choices=KIND_CHOICES, required=False)
    since = forms.DateField(required=False, label="From", widget=forms.DateInput({"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput({"type": "date"}))
    text = forms.CharField(required=False, max_length=100, label="Search descriptions")
    app = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label="Asked by partner app"
    )

    def __init__(self, *args, apps: list[tuple[int, str]] = (), **kwargs):
        """`apps`: (id, name) of the partner apps that asked for movements of this wallet
        (selectors.apps_that_asked); without any, the form has no app field."""
        super().__init__(*args, **kwargs)
        if apps:
            self.fields["app"].choices = [("", "Any app or person"), *apps]
        else:
            del self.fields["app"]

    def clean(self):
        data = super().clean()
        if data.get("until") and data["until"] > timezone.localdate():
            self.add_error("until", FUTURE_END)
        elif data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end date must not be before the start date.")
        return data

    def filters(self) -> HistoryFilter | None:
        """The history's filters; none at all for an unbound form; None when the form is
        invalid: the page then lists nothing, never a list filtered by only the valid half."""
        if not self.is_bound:
            return HistoryFilter()
        return HistoryFilter(**self.cleaned_data) if self.is_valid() else None


class StatementForm(forms.Form):
    since = forms.DateField(label="From", widget=forms.DateInput({"type": "date"}))
    until = forms.DateField(label="To", widget=forms.DateInput({"type": "date"}))

    def __init__(self, *args, **kwargs):
        today = timezone.localdate()
        kwargs.setdefault("initial", {"since": today - timedelta(days=30), "until": today})
        super().__init__(*args, **kwargs)

    def clean(self):
        data = super().clean()
        if data.get("until") and data["until"] > timezone.localdate():
            self.add_error("until", FUTURE_END)
        elif data.get("since") and data.get("until"):
            if data["since"] > data["until"]:
                self.add_error("until", "The end date must not be before the start date.")
            elif data["until"] - data["since"] > timedelta(days=3660):
                self.add_error("until", "A statement covers at most ten years.")
        return data


class TransferForm(IdempotentForm):
    email = forms.EmailField(label="Receiver's e-mail address")
    amount = DigitsField(min_value=1, max_value=MAX_AMOUNT, help_text="Paid credits only.")
    description = forms.CharField(max_length=255, required=False, label="Message (optional)")

    field_order = ["email", "amount", "description"]

    def __init__(self, *args, sender: User, **kwargs):
        super().__init__(*args, **kwargs)
        self.sender = sender

    def clean_email(self):
        email = self.cleaned_data["email"]
        try:
            receiver = lookups.find_receiver(sender=self.sender, email=email)
        except (ReceiverNotFound, ReceiverLookupsExhausted) as refusal:
            raise forms.ValidationError(refusal.message) from refusal
        if receiver == self.sender:
            raise forms.ValidationError("You cannot transfer credits to yourself.")
        self.receiver = receiver
        return email


class ThresholdsForm(forms.Form):
    """A wallet's low-balance thresholds: up to five, each a number of credits, blanks ignored.
    Errors stand beside the field they are about (a repeated value: beside the repeat)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for index in range(thresholds.MAX_THRESHOLDS):
            self.fields[f"threshold_{index + 1}"] = DigitsField(
                label=f"Threshold {index + 1}",
                required=False,
                min_value=thresholds.MIN_THRESHOLD,
                max_value=thresholds.MAX_THRESHOLD,
                help_text="Credits" if index else "Credits, e.g. 500",
            )

    @classmethod
    def for_thresholds(cls, values: list[int]) -> "ThresholdsForm":
        return cls(initial={f"threshold_{index + 1}": value for index, value in enumerate(values)})

    def clean(self):
        data = super().clean()
        seen: set[int] = set()
        for name in self.fields:
            value = data.get(name)
            if value is None:
                continue
            if value in seen:
                self.add_error(name, "This threshold is given twice.")
            seen.add(value)
        return data

    def thresholds(self) -> list[int]:
        return [value for name in self.fields if (value := self.cleaned_data.get(name))]
