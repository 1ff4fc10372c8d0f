"""The credits admin: wallets and their operations, staff approvals and the staff audit trail,
the ledger's history (read-only), and the user admin's link to each wallet."""

from credits.admin import ledger, staff, users, wallets

__all__ = ["ledger", "staff", "users", "wallets"]
