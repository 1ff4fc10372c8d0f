"""Forms for staff operations on wallets (the admin's intermediate pages)."""

import uuid

from django import forms
from django.utils import timezone

from credits.services.ledger import MAX_AMOUNT


class CreditMovementForm(forms.Form):
    """A form that moves credits carries a key made when the page was drawn: submitting the same
    page twice (a double click, a browser resend) moves the credits once."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput)
    amount = forms.IntegerField(min_value=1, max_value=MAX_AMOUNT, help_text="Whole credits.")
    reason = forms.CharField(
        max_length=255, help_text="Recorded on the transaction and shown to the user."
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)


class GrantForm(CreditMovementForm):
    KINDS = [("paid", "Paid (counts as bought credits)"), ("promotional", "Promotional")]

    kind = forms.ChoiceField(choices=KINDS, initial="promotional")
    expires_at = forms.DateTimeField(
        required=False,
        help_text="In UTC, e.g. 2027-01-31 23:59. Leave empty for credits that never expire.",
    )
    priority = forms.IntegerField(
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
    field_order = ["amount", "reason"]


class StatusForm(forms.Form):
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why: kept in the wallet's status history.",
    )
