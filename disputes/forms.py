from django import forms

from core.fields import DigitsField
from credits.services.rules import MAX_AMOUNT
from disputes.models import Dispute
from disputes.services import MILESTONE_REASONS


class OpenDisputeForm(forms.Form):
    reason = forms.ChoiceField(choices=[("", "Choose a reason"), *Dispute.Reason.choices])
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
        label="What went wrong?",
        help_text="Tell us what happened; staff read this first.",
    )
    amount = DigitsField(min_value=1, max_value=MAX_AMOUNT, label="Credits you ask back")

    def __init__(self, *args, most: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["amount"].widget.attrs["max"] = most
        self.fields["amount"].help_text = f"At most {most}."
        self.most = most

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount > self.most:
            raise forms.ValidationError(f"You can ask back at most {self.most} credits.")
        return amount


class MilestoneDisputeForm(OpenDisputeForm):
    """Opening a dispute on a delivered milestone: its reasons are the work's, and the credits
    asked back are at most the milestone's."""

    def __init__(self, *args, most: int, **kwargs):
        super().__init__(*args, most=most, **kwargs)
        self.fields["reason"].choices = [
            ("", "Choose a reason"),
            *((reason.value, reason.label) for reason in MILESTONE_REASONS),
        ]
        self.fields["description"].label = "What is wrong with the delivery?"
        self.fields[
            "amount"
        ].help_text = (
            f"At most {most:,}, the milestone's amount. What staff do not give back is paid."
        )


class MessageForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=4000, label="Your message"
    )


class EscalateForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=4000,
        required=False,
        label="Why should a senior member of staff look again? (optional)",
    )
