"""Billing's typed errors: a message a buyer or staff member can read."""

from core.errors import DomainError


class BillingError(DomainError):
    """A purchase, refund or Stripe step that cannot happen (422 on the API)."""


class PromotionError(BillingError):
    """A promo code that cannot be used here (unknown, expired, used up, inapplicable)."""


class PromotionTermsError(PromotionError):
    """Terms of a promo code staff may not set (a bonus over 100 %, more credits than
    BILLING_PROMOTION_MAX_CREDITS, an end before the start, a code with a space); `problems`
    maps each field to what is wrong with it, for the form to show beside it."""

    code = "invalid_promotion"

    def __init__(self, problems: dict[str, str]):
        super().__init__(" ".join(problems.values()))
        self.problems = problems
