"""django-filter, strictly: a typed filter given with no value is a 400, and dates come in UTC."""

from datetime import UTC

import django_filters
from django import forms
from drf_spectacular.utils import extend_schema_field


class StrictFilterSet(django_filters.FilterSet):
    """A typed filter (a date, a choice) given with no value is a 400; django-filter would
    quietly ignore it. The error uses the field's own code, as the schema documents."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        refused = False
        for name, field in self.form.fields.items():
            code = next((c for c in ("invalid_choice", "invalid") if c in field.error_messages), "")
            if code and name in self.data and self.data[name] == "":
                message = "Give a value, or leave the parameter out."
                self.form.add_error(name, forms.ValidationError(message, code=code))
                refused = True
        return valid and not refused


class UtcDateTimeField(django_filters.fields.IsoDateTimeField):
    """Any ISO 8601 offset in, UTC out: PostgreSQL refuses offsets beyond ±15:59."""

    def clean(self, value):
        cleaned = super().clean(value)
        if cleaned is None:
            return None
        try:
            return cleaned.astimezone(UTC)
        except OverflowError as error:
            raise forms.ValidationError("This date is out of range.", code="invalid") from error


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcDateTimeField


class OrderingFilter(django_filters.ChoiceFilter):
    """`ordering`: one of a list's named orders (`orderings`, the first is the default). The
    cursor pages sort the rows (core.api.pagination follows the view's `orderings`), so this
    filter only checks the name: an unknown one is a 400, as for any choice."""

    def __init__(self, orderings: dict[str, tuple[str, ...]], **kwargs):
        kwargs.setdefault("help_text", f"Default: {next(iter(orderings))}.")
        choices = [
            (name, f"by {name.lstrip('-')}" + (", descending" if name.startswith("-") else ""))
            for name in orderings
        ]
        super().__init__(choices=choices, method=self.leave_alone, **kwargs)

    @staticmethod
    def leave_alone(queryset, name, value):
        return queryset


@extend_schema_field({"type": "integer", "minimum": 1, "maximum": 2**63 - 1})
class IdFilter(django_filters.NumberFilter):
    """A row's id: a whole number of at least 1 (NumberFilter alone would take 0.5)."""

    field_class = forms.IntegerField

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)  # the largest id a database row can have
        super().__init__(**kwargs)
