"""The disputes app's typed error: a message the user or staff member can read."""

from core.errors import DomainError


class DisputeError(DomainError):
    """A dispute step that cannot happen now (422 on the API)."""
