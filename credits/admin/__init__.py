"""The credits admin: wallets and their operations, staff approvals and the staff audit trail,
and the ledger's history (read-only)."""

from credits.admin import ledger, staff, wallets

__all__ = ["ledger", "staff", "wallets"]
