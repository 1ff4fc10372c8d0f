"""How the API's schema is generated: drf-standardized-errors' AutoSchema (every error in its one
shape), which also documents the Idempotency-Key check's 400 on each operation that takes the key.

Imports nothing of ours: DRF loads it while the first views are declared.
"""

from drf_standardized_errors import openapi

IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"


class AutoSchema(openapi.AutoSchema):
    def _get_extra_validation_errors(self) -> dict[str, set[str]]:
        """Besides the fields' own errors: the key's, on handlers that take it (@idempotent)."""
        errors = super()._get_extra_validation_errors()
        handler = getattr(self.view, self.method.lower(), None)
        if getattr(handler, "takes_idempotency_key", False):
            errors[IDEMPOTENCY_KEY_HEADER] = {"required", "invalid"}
        return errors
