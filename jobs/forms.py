"""The jobs pages' forms. They read what a person typed (digits, dates, choices); the rules of a
job (a budget that adds up, a due date from today on, a safe link) are the services', whose
errors the views put beside the field they name (`add_service_error`)."""

from django import forms
from django.db import models
from django.forms.models import fields_for_model

from core.fields import DigitsField
from jobs.errors import JobError
from jobs.models import Job, Milestone
from jobs.selectors.reads import QUEUE_SORTS, SORTS, JobFilter, QueueFilter
from jobs.services import SECTIONS

MAX_CREDITS = 2_000_000_000
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _form_field(field, **options):
    if isinstance(field, models.URLField):
        options["assume_scheme"] = "https"  # "example.com" is read as https://example.com
    return field.formfield(**options)


def _section_form(section: str) -> type[forms.Form]:
    fields = fields_for_model(Job, fields=SECTIONS[section], formfield_callback=_form_field)
    if "budget" in fields:
        fields["budget"] = DigitsField(
            min_value=0,
            max_value=MAX_CREDITS,
            label="Budget (credits)",
            help_text="The sum of the milestones' amounts: reserved from your wallet when you "
            "submit the job.",
        )
    if "website" in fields:
        fields["website"].help_text = "Starting with https:// or http://."
    return type(f"{section.title()}Form", (forms.Form,), fields)


SECTION_FORMS = {section: _section_form(section) for section in SECTIONS}


class MilestoneForm(forms.Form):
    title = forms.CharField(max_length=200)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), required=False, max_length=4000
    )
    due_date = forms.DateField(widget=DATE, label="Due date")
    amount = DigitsField(min_value=1, max_value=MAX_CREDITS, label="Amount (credits)")


# absolute_max: a tampered TOTAL_FORMS builds at most this many rows (Django's default is 1,000
# more than max_num), and more is the formset's own error.
MilestoneFormSet = forms.formset_factory(
    MilestoneForm, extra=0, can_delete=True, max_num=100, absolute_max=100, validate_max=True
)


def milestone_formset(job: Job, data=None) -> forms.BaseFormSet:
    """The planning section's rows: the draft's milestones, or one empty row to start."""
    initial = [
        {"title": m.title, "description": m.description, "due_date": m.due_date, "amount": m.amount}
        for m in job.milestones.order_by("position", "id")
    ]
    formset = MilestoneFormSet(data, initial=initial, prefix="milestones")
    if data is None and not initial:
        formset.extra = 1
    return formset


class LinkForm(forms.Form):
    label = forms.CharField(max_length=200)
    url = forms.CharField(
        max_length=2000, label="Address", help_text="Starting with https:// or http://."
    )


class AcceptInPartForm(forms.Form):
    amount = DigitsField(min_value=1, max_value=MAX_CREDITS, label="Credits to pay")
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, label="Why not all of it?"
    )

    def __init__(self, *args, milestone: Milestone, **kwargs):
        kwargs.setdefault("prefix", f"part-{milestone.pk}")
        super().__init__(*args, **kwargs)
        self.fields[
            "amount"
        ].help_text = f"Less than {milestone.amount:,}; the rest goes back to your wallet."


class RequestChangesForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), max_length=2000, label="What should change?"
    )

    def __init__(self, *args, milestone: Milestone, **kwargs):
        kwargs.setdefault("prefix", f"changes-{milestone.pk}")
        super().__init__(*args, **kwargs)


class CancelJobForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        max_length=2000,
        required=False,
        label="Why cancel? (optional for clients; staff must say)",
    )


class DeliverForm(forms.Form):
    message = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), max_length=10000, label="What you deliver"
    )
    files = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple, label="Job files"
    )
    link_label = forms.CharField(max_length=200, required=False, label="Link label")
    link_url = forms.CharField(
        max_length=2000, required=False, label="Link address", help_text="https:// or http://"
    )

    def __init__(self, *args, job: Job, **kwargs):
        super().__init__(*args, **kwargs)
        # A file belongs to the one delivery that sent it (jobs.services.deliver).
        undelivered = job.files.filter(delivery__isnull=True)
        self.fields["files"].queryset = undelivered.order_by("name", "id")

    def links(self) -> list[tuple[str, str]]:
        label, url = self.cleaned_data["link_label"], self.cleaned_data["link_url"]
        return [(label or url, url)] if (label or url) else []


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(queryset=None, label="Assign to", empty_label=None)

    def __init__(self, *args, deliverers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = deliverers


def _choices(first: str, choices) -> list[tuple[str, str]]:
    return [("", first), *choices]


class JobFilterForm(forms.Form):
    status = forms.ChoiceField(choices=_choices("Any status", Job.Status.choices), required=False)
    priority = forms.ChoiceField(
        choices=_choices("Any priority", Job.Priority.choices), required=False
    )
    due_after = forms.DateField(required=False, widget=DATE, label="A milestone due from")
    due_before = forms.DateField(required=False, widget=DATE, label="A milestone due by")
    sort = forms.ChoiceField(
        choices=[
            ("newest", "Newest first"),
            ("priority", "Priority"),
            ("budget", "Budget, largest first"),
            ("next_due", "Next due date"),
        ],
        required=False,
        label="Sort by",
    )

    def filters(self) -> JobFilter | None:
        """None for an invalid filter: the page then lists nothing rather than more."""
        if not self.is_bound:
            return JobFilter()
        if not self.is_valid():
            return None
        data = {name: value for name, value in self.cleaned_data.items() if value}
        data["sort"] = data.get("sort") if data.get("sort") in SORTS else "newest"
        return JobFilter(**data)


class QueueFilterForm(forms.Form):
    who = forms.ChoiceField(
        choices=[("all", "All jobs"), ("unassigned", "Unassigned"), ("mine", "Assigned to me")],
        required=False,
        label="Show",
    )
    priority = forms.ChoiceField(
        choices=_choices("Any priority", Job.Priority.choices), required=False
    )
    sort = forms.ChoiceField(
        choices=[("priority", "Priority, then oldest"), ("oldest", "Oldest first")],
        required=False,
        label="Sort by",
    )

    def filters(self) -> QueueFilter | None:
        if not self.is_bound:
            return QueueFilter()
        if not self.is_valid():
            return None
        data = {name: value for name, value in self.cleaned_data.items() if value}
        data["sort"] = data.get("sort") if data.get("sort") in QUEUE_SORTS else "priority"
        return QueueFilter(**data)


def add_service_error(form: forms.Form, error: JobError) -> None:
    """Put a service's refusal beside the field it names, or above the form."""
    field = error.field if getattr(error, "field", None) in form.fields else None
    form.add_error(field, error.message)
