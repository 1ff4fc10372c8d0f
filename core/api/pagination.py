"""The API's pagination: cursor pages (stable while new rows arrive) with a strict page_size."""

from drf_standardized_errors.openapi_validation_errors import extend_validation_errors
from rest_framework import exceptions
from rest_framework.pagination import CursorPagination, PageNumberPagination

from core.fields import is_ascii_digits


class StrictPageSize:
    """A page_size that is not a whole number from 1 to the maximum is a 400, not ignored."""

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


# Put on every paginated list view, so the schema documents the page_size refusal.
page_size_errors = extend_validation_errors(["invalid"], field_name="page_size", methods=["get"])


class HistoryCursor(StrictPageSize, CursorPagination):
    """Stable while new rows arrive: pages follow ids, not offsets."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = "-id"


class Pages(StrictPageSize, PageNumberPagination):
    def get_page_number(self, request, paginator):
        number = request.query_params.get(self.page_query_param)
        if number is not None and not is_ascii_digits(number):
            raise exceptions.NotFound("Invalid page: give a page number from 1.")
        return super().get_page_number(request, paginator)

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
