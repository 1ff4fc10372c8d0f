"""The accounts app's typed errors: each has a stable `code` and a message a person can read."""

from core.errors import DomainError


class AccountError(DomainError):
    """Base of every error the accounts services raise.

    `field` names the form field (or API attribute) the message belongs beside, if any.
    """

    code = "account_error"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class ApiTokenRefused(AccountError):
    """A token that does not authenticate: unknown, revoked, expired, or its user inactive."""

    code = "authentication_failed"


class ApiTokenNotFound(AccountError):
    """No live token of this user has this id."""

    code = "not_found"


class ApiTokenInvalid(AccountError):
    """A new token's name or expiry cannot be accepted (a duplicate name, too many tokens…)."""

    code = "invalid"


class ReceiverNotFound(AccountError):
    """No active user has this e-mail address."""

    code = "receiver_not_found"


class ReceiverLookupsExhausted(AccountError):
    """The user looked up too many different addresses lately; `retry_after` is in seconds."""

    code = "throttled"

    def __init__(self, message: str, *, retry_after: int, field: str | None = None):
        super().__init__(message, field=field)
        self.retry_after = retry_after
