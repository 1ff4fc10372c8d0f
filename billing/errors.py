"""Billing's typed errors: a message a buyer or staff member can read."""

from core.errors import DomainError


class BillingError(DomainError):
    """A purchase, refund or Stripe step that cannot happen (422 on the API)."""


class PromotionError(BillingError):
    """A promo code that cannot be used here (unknown, expired, used up, inapplicable)."""
