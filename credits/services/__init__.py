"""Every write to the ledger. Nothing else creates or changes wallets, transactions, entries,
grants, allocations or holds.

Each operation runs in one database transaction, locks the user wallets it touches, takes an
idempotency key scoped to its caller, and raises a `credits.errors.CreditError` a person can read.

The operations, one module per family: movements (grant, spend, adjust, refund, revoke),
transfers, holds (hold, capture, release), expiry, wallets (open, freeze, suspend…), staff (staff
powers: limits, maker-checker). What they share: operation (`run_operation`, the unit of work:
claim the key, decide under locks, write once), posting (the rows an operation writes, one
statement per table), locks (row locks and claims), rules (input checks and status rules),
burn_down (which credit blocks move), system_accounts, audit (the staff audit trail).
"""

from credits.services.alerts import set_thresholds
from credits.services.audit import record_staff_action
from credits.services.expiry import due_grants, expire, expire_due_grants
from credits.services.expiry_warnings import send_expiry_warnings
from credits.services.holds import capture, hold, hold_grants, release, release_expired_holds
from credits.services.movements import adjust, grant, refund, refunded_amount, revoke, spend
from credits.services.posting import Reference
from credits.services.system_accounts import (
    forget_system_wallet_ids,
    open_system_wallets,
    system_wallet_id,
)
from credits.services.transfers import check_transfer, transfer, transfer_allowance
from credits.services.wallets import (
    change_status,
    freeze,
    open_wallet,
    reactivate,
    staff_operations_open,
    suspend,
    unfreeze,
)

__all__ = [
    "Reference",
    "adjust",
    "capture",
    "change_status",
    "check_transfer",
    "due_grants",
    "expire",
    "expire_due_grants",
    "forget_system_wallet_ids",
    "freeze",
    "grant",
    "hold",
    "hold_grants",
    "open_system_wallets",
    "open_wallet",
    "reactivate",
    "record_staff_action",
    "refund",
    "refunded_amount",
    "release",
    "release_expired_holds",
    "revoke",
    "send_expiry_warnings",
    "set_thresholds",
    "spend",
    "staff_operations_open",
    "suspend",
    "system_wallet_id",
    "transfer",
    "transfer_allowance",
    "unfreeze",
]
