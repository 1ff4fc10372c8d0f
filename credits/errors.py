"""The ledger's typed errors. Each has a stable `code` and a message a person can read."""

from core.errors import DomainError


class CreditError(DomainError):
    """Base of every error the credits services raise (422 unless the class says otherwise)."""


class InvalidRequest(CreditError):
    """The arguments themselves are wrong (a zero amount, a missing reason): nothing was tried."""

    code = "invalid_request"
    http_status = 400


class IdempotencyConflict(CreditError):
    """The idempotency key was already used for a different request."""

    code = "idempotency_conflict"
    http_status = 409


class CreditRefusal(CreditError):
    """A well-formed request the ledger refuses for a business reason.

    Refusals are remembered under the idempotency key: a retry is refused the same way, even
    if the wallet has changed since, so a retry can never flip the outcome.
    """

    code = "refused"


class InsufficientCredits(CreditRefusal):
    code = "insufficient_credits"


class WalletNotActive(CreditRefusal):
    code = "wallet_not_active"


class HoldNotOpen(CreditRefusal):
    code = "hold_not_open"


class HoldNotYours(CreditRefusal):
    code = "hold_not_yours"


class CaptureExceedsHold(CreditRefusal):
    code = "capture_exceeds_hold"


class RefundNotAllowed(CreditRefusal):
    code = "refund_not_allowed"


class TransferNotAllowed(CreditRefusal):
    code = "transfer_not_allowed"


class TransferLimitExceeded(CreditRefusal):
    code = "transfer_limit_exceeded"


class OwnWalletRefused(CreditRefusal):
    """Staff never move credits into or out of their own wallet, nor change its status."""

    code = "own_wallet"


class ApprovalRefused(CreditRefusal):
    """A maker-checker step that may not happen (one's own request, one already decided…)."""

    code = "approval_not_allowed"


class ApprovalExpired(ApprovalRefused):
    code = "approval_expired"


def refusal_for_code(code: str) -> type[CreditRefusal]:
    """The refusal class a stored code stands for (to replay a refusal exactly)."""
    classes = {cls.code: cls for cls in _all_subclasses(CreditRefusal)}
    return classes.get(code, CreditRefusal)


def _all_subclasses(cls: type) -> list[type]:
    found = [cls]
    for subclass in cls.__subclasses__():
        found.extend(_all_subclasses(subclass))
    return found
