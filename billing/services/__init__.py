"""Billing's writes: checkout, promo codes, Stripe catalogue sync, and what webhooks do.

Every credit they create or take back goes through `credits.services`.
"""
