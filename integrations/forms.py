"""The Developers page's forms and the admin's. They only read what was sent;
integrations.services judge it (the same rules whichever surface sends it)."""

from django import forms
from django.conf import settings

from accounts.forms import ApiTokenForm
from core.fields import DigitsField
from events.types import EVENT_TYPES, PARTNER_TYPES
from integrations import scopes
from integrations.errors import IntegrationError
from integrations.services.apps import (
    LOGO_MAX_BYTES,
    MAX_CAP,
    MAX_DESCRIPTION_LENGTH,
    MAX_NAME_LENGTH,
)

# A service names the model's field; the forms name some of them otherwise.
FORM_FIELDS = {"allowed_scopes": "scopes", "expires_at": "expires_on"}


def scope_choices(names=None) -> list[tuple[str, str]]:
    """Checkboxes for `names` (default: every scope), each with the words users are shown."""
    names = scopes.SCOPES if names is None else names
    return [(name, f"{name}: {words}") for name, words in scopes.described(names)]


def add_service_error(form: forms.Form, error: IntegrationError) -> None:
    """Put a service's refusal beside the field it names, or above the form."""
    field = FORM_FIELDS.get(error.field, error.field) if error.field else None
    form.add_error(field if field in form.fields else None, error.message)


def redirect_uris_text(app) -> str:
    return "\n".join(app.redirect_uris.split())


class AppDetailsForm(forms.Form):
    """What the owner may change while the app is pending or approved."""

    description = forms.CharField(
        widget=forms.Textarea({"rows": 4}),
        required=False,
        max_length=MAX_DESCRIPTION_LENGTH,
        help_text="What the app does, for the people asked to allow it.",
    )
    redirect_uris = forms.CharField(
        label="Redirect URIs",
        widget=forms.Textarea({"rows": 3}),
        help_text="One per line, each a whole address (https://…; http only on a development "
        "server). Sign-in returns only to an address listed here, exactly as written.",
    )


class RegisterAppForm(AppDetailsForm):
    name = forms.CharField(max_length=MAX_NAME_LENGTH, label="App name")
    homepage = forms.CharField(
        max_length=200, help_text="Where people learn about the app: https://…"
    )
    logo = forms.FileField(
        required=False,
        label="Logo (optional)",
        help_text=f"A PNG, JPEG or WebP image of at most {LOGO_MAX_BYTES // 1024} KB, shown "
        "when people are asked to allow the app.",
    )
    scopes = forms.MultipleChoiceField(
        label="Scopes wanted",
        widget=forms.CheckboxSelectMultiple,
        choices=scope_choices,
        initial=["openid"],
        help_text="What the app may ask people to allow. Staff review them before approving.",
    )
    proposed_cap = DigitsField(
        label="Proposed spending cap",
        min_value=1,
        max_value=MAX_CAP,
        initial=1_000,
        help_text="The most the app may charge a person per 30 days, in credits; each person "
        "may lower it when they allow the app.",
    )

    field_order = ["name", "description", "homepage", "logo", "redirect_uris", "scopes"]
    field_order += ["proposed_cap"]


class KeyForm(ApiTokenForm):
    """A new API key: a name, its scopes (some of the app's), an optional expiry."""

    scopes = forms.MultipleChoiceField(
        widget=forms.CheckboxSelectMultiple,
        help_text="Give each key only what the program using it needs.",
    )

    def __init__(self, *args, app, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].label = "Key name"
        self.fields["name"].help_text = "What uses it, e.g. \u201cbilling worker\u201d."
        self.fields["expires_on"].help_text = (
            "The key works until the end of this day (UTC). Leave empty for a key that works "
            "until you revoke or rotate it."
        )
        self.fields["scopes"].choices = scope_choices(app.allowed_scopes)


class RotateKeyForm(forms.Form):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        limit = settings.INTEGRATIONS_KEY_MAX_OVERLAP_HOURS
        self.fields["overlap_hours"] = DigitsField(
            label="Overlap (hours)",
            min_value=0,
            max_value=limit,
            initial=limit,
            help_text="How long the old key keeps working beside the new one, so you can "
            f"deploy the new one first: 0 (it stops now) to {limit} hours.",
        )


class ConfirmForm(forms.Form):
    """A step with nothing to fill in (revoking a key): the button is the confirmation."""


class ReasonForm(forms.Form):
    """Staff's reason for a status change or a release of holds: recorded, and shown to the
    app's owner in its log."""

    reason = forms.CharField(max_length=500, widget=forms.Textarea({"rows": 3}))


def event_type_choices() -> list[tuple[str, str]]:
    return [
        (name, f"{name}: {kind.summary}")
        for name, kind in EVENT_TYPES.items()
        if name in PARTNER_TYPES
    ]


class WebhookEndpointForm(forms.Form):
    """A webhook endpoint: where events go and which ones (integrations.services.webhooks
    judges the URL: https only, unless allow-listed)."""

    url = forms.URLField(
        label="URL",
        max_length=500,
        assume_scheme="https",
        help_text="An https:// address of your server that accepts POST requests.",
    )
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        label="Event types",
        widget=forms.CheckboxSelectMultiple,
        choices=event_type_choices,
        help_text="Your endpoint receives only these, and only about users who allowed your "
        "app to see their credits, or about your app's own holds and charges.",
    )


class ResendSinceForm(forms.Form):
    since = forms.DateTimeField(
        label="Resend every event since (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        help_text="One new delivery of each event your endpoint would have received since then.",
    )
