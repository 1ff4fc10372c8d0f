"""The API's one pagination: cursor pages (stable while new rows arrive) with a strict
page_size, the same envelope (`next`, `previous`, `results`) on every list.

It is the default pagination class (REST_FRAMEWORK in config/settings.py), so a list view
paginates this way without saying so; a view gives its order as `cursor_ordering` (default:
newest first).
"""

from rest_framework import exceptions
from rest_framework.pagination import CursorPagination

from core.fields import is_ascii_digits

NEWEST_FIRST = ("-id",)


class CursorPages(CursorPagination):
    """Pages follow the rows' order, not offsets: a row that arrives meanwhile never shifts a
    page. A page_size that is not a whole number from 1 to the maximum is a 400, not ignored."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = NEWEST_FIRST

    def get_ordering(self, request, queryset, view):
        """The view's `cursor_ordering`: fields whose first one the cursor's position follows
        (ties broken by the rest, so each page is one fixed slice). A view whose list sorts
        several ways names them in `orderings` (core.api.filters.OrderingFilter has checked the
        `ordering` parameter by now)."""
        orderings = getattr(view, "orderings", None)
        if orderings:
            chosen = request.query_params.get("ordering") or next(iter(orderings))
            return tuple(orderings[chosen])
        return tuple(getattr(view, "cursor_ordering", self.ordering))

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not is_ascii_digits(raw) or not 1 <= int(raw) <= self.max_page_size:
            raise exceptions.ValidationError(
                {"page_size": [f"A whole number from 1 to {self.max_page_size}."]}
            )
        return int(raw)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update({"minimum": 1, "maximum": self.max_page_size})
        return parameters


def page_size_errors(view):
    """Put on every paginated list view, so the schema documents the page_size refusal.

    Imported when used: DRF loads this module (its default pagination) while it declares its
    generic views, before drf-standardized-errors can be imported."""
    from drf_standardized_errors.openapi_validation_errors import extend_validation_errors

    return extend_validation_errors(["invalid"], field_name="page_size", methods=["get"])(view)
