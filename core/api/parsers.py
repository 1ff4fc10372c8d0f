"""The API's one parser: JSON, nested no deeper than MAX_JSON_DEPTH (core.malformed has the
other rules for malformed requests); and the validated body a view works with.

Python's JSON parser recurses, so a body nested a few thousand levels deep was a RecursionError
(500); it is a 400 `parse_error`, as every operation's schema documents. Imports nothing but DRF's
parsers and exceptions: DRF imports it while it builds its views.
"""

from rest_framework import parsers
from rest_framework.exceptions import ErrorDetail, ParseError, ValidationError

MAX_JSON_DEPTH = 32
TOO_DEEP = f"JSON parse error - the body is nested deeper than {MAX_JSON_DEPTH} levels."


class JSONParser(parsers.JSONParser):
    """The API's one parser: DRF's JSON parser, with nesting limited to MAX_JSON_DEPTH."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        if _deeper_than(data, MAX_JSON_DEPTH):
            raise ParseError(TOO_DEEP)
        return data


def _deeper_than(data, limit: int) -> bool:
    """Whether the parsed JSON nests more than `limit` arrays and objects (no recursion)."""
    pending = [(data, 1)] if isinstance(data, dict | list) else []
    while pending:
        value, depth = pending.pop()
        if depth > limit:
            return True
        children = value.values() if isinstance(value, dict) else value
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def valid_data(serializer_class, request) -> dict:
    """The request body, validated (a 400 in the error shape, field by field, otherwise).

    Every write endpoint reads its body here, so none drops what it does not know: a field the
    serializer does not declare is a 400 `unknown_field` naming it (a misspelt `metadata` or a
    capture's `description` was silently ignored), with the body's other errors."""
    serializer = serializer_class(data=request.data)
    valid = serializer.is_valid()
    errors = dict(serializer.errors) if not valid else {}
    if isinstance(request.data, dict):
        known = ", ".join(serializer.fields) or "none"
        for name in sorted(set(request.data) - set(serializer.fields)):
            errors[name] = [
                ErrorDetail(f"Unknown field: this endpoint takes {known}.", code="unknown_field")
            ]
    if errors:
        raise ValidationError(errors)
    return dict(serializer.validated_data)
