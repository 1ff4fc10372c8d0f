"""Billing's typed error: a message a buyer or staff member can read."""


class BillingError(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class PromotionError(BillingError):
    """A promo code that cannot be used here (unknown, expired, used up, inapplicable)."""
