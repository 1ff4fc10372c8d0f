"""The consent page's form: django-oauth-toolkit's hidden fields, plus the spending cap."""

from django import forms
from oauth2_provider.forms import AllowForm

from integrations import scopes


class ConsentForm(AllowForm):
    """Allow or Deny; with a charging scope, the cap (credits per 30 days) the user agrees to:
    the app's proposal or less. A Deny ignores the cap (nothing is agreed)."""

    cap = forms.CharField(
        required=False,
        label="Spending cap (credits per 30 days)",
        widget=forms.NumberInput(attrs={"min": 1, "step": 1, "inputmode": "numeric"}),
    )

    def __init__(self, *args, app, current_cap: int | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.app = app
        scope_text = self["scope"].value() or ""
        self.charging = bool(set(scopes.parse(scope_text)) & scopes.CHARGING_SCOPES)
        self.fields["cap"].widget.attrs["max"] = app.proposed_cap
        self.fields["cap"].help_text = (
            f"{app.name} proposes at most {app.proposed_cap:,} credits in any 30 days; "
            "you may lower it."
        )
        if not self.is_bound:
            # Asked again (wider scopes), the user's own cap stays what they chose: one click
            # on Allow must not raise it to the app's proposal.
            proposed = (
                app.proposed_cap if current_cap is None else min(current_cap, app.proposed_cap)
            )
            self.initial.setdefault("cap", proposed)

    def clean_cap(self) -> int:
        """The cap agreed: what the user typed, or the proposal when nothing is charged."""
        if not self.charging or not self.cleaned_data.get("allow"):
            return self.app.proposed_cap
        raw = (self.cleaned_data.get("cap") or "").strip()
        if not raw.isdecimal():
            raise forms.ValidationError("Enter a whole number of credits, such as 500.")
        cap = int(raw)
        if not 1 <= cap <= self.app.proposed_cap:
            raise forms.ValidationError(
                f"The cap must be from 1 to {self.app.proposed_cap:,} credits: "
                f"{self.app.name} proposed {self.app.proposed_cap:,}, and you may only lower it."
            )
        return cap
