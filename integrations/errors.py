"""The integrations app's typed errors: each has a stable `code` and a message a person can read."""

from core.errors import DomainError
from credits.errors import CreditRefusal


class IntegrationError(DomainError):
    """Base of every error the integrations services raise (422 unless the class says)."""

    code = "integration_error"


class InvalidApp(IntegrationError):
    """What was asked of an app (a status change, its scopes, a cap) is not allowed."""

    code = "invalid_request"
    http_status = 400


class AppNotActive(IntegrationError):
    """The app is suspended or revoked: every call it makes is refused (403)."""

    http_status = 403

    def __init__(self, app):
        status = app.status
        super().__init__(
            f"The partner app {app.name} is {status}: it cannot act.",
            code=f"app_{status}" if status in ("suspended", "revoked") else "app_not_approved",
        )


class ConsentRequired(IntegrationError):
    """The user has not consented to the app, or revoked their consent."""

    code = "consent_revoked"
    http_status = 403


class CapExceeded(CreditRefusal):
    """A spend or hold that would take the app past the user's spending cap. A ledger refusal:
    kept under the idempotency key and answered again to a retry."""

    code = "cap_exceeded"


class KeyRefused(IntegrationError):
    """An API key that does not authenticate, whatever the reason (one answer for all)."""

    code = "authentication_failed"
    http_status = 401


class InvalidWebhook(IntegrationError):
    """A webhook endpoint's URL or event types are refused, or it cannot do what was asked."""

    code = "invalid_webhook"
    http_status = 400
