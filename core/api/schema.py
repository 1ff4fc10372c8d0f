"""How the API's schema is generated: drf-standardized-errors' AutoSchema (every error in its one
shape), which also documents the Idempotency-Key check's 400 on each operation that takes the key;
and the hooks that order the paths by their tags (core.api.tags) and say that request bodies take
no field beyond those listed.

Imports nothing of ours but core.api.tags: DRF loads it while the first views are declared.
"""

from drf_standardized_errors import openapi

from core.api.tags import TAGS

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
TAG_ORDER = {tag["name"]: position for position, tag in enumerate(TAGS)}


class AutoSchema(openapi.AutoSchema):
    def _get_extra_validation_errors(self) -> dict[str, set[str]]:
        """Besides the fields' own errors: the key's, on handlers that take it (@idempotent)."""
        errors = super()._get_extra_validation_errors()
        handler = getattr(self.view, self.method.lower(), None)
        if getattr(handler, "takes_idempotency_key", False):
            errors[IDEMPOTENCY_KEY_HEADER] = {"required", "invalid"}
        return errors


def group_paths_by_tag(result, generator, request, public):
    """Paths in the order of their operations' tags (TAGS), by path within a tag: sorted by
    path alone, every /admin/ path came first."""

    def position(item):
        index, (_, operations) = item
        tags = [tag for operation in operations.values() for tag in operation.get("tags", [])]
        return (min((TAG_ORDER.get(tag, len(TAGS)) for tag in tags), default=len(TAGS)), index)

    ordered = sorted(enumerate(result["paths"].items()), key=position)
    result["paths"] = {path: operations for _, (path, operations) in ordered}
    return result


def refuse_unknown_fields(result, generator, request, public):
    """Say in each request body's schema what the API does (core.api.parsers.valid_data): a
    field it does not list is a 400, never silently dropped."""
    schemas = result.get("components", {}).get("schemas", {})
    for operations in result["paths"].values():
        for operation in operations.values():
            for content in operation.get("requestBody", {}).get("content", {}).values():
                reference = content.get("schema", {}).get("$ref", "")
                name = reference.rsplit("/", 1)[-1]
                if name in schemas:
                    schemas[name]["additionalProperties"] = False
    return result
