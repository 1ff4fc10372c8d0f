"""The ledger's input checks and status rules: what any operation refuses before it locks."""

from collections.abc import Iterable

from credits.errors import InvalidRequest, WalletNotActive
from credits.models import CreditTransaction, Wallet

Kind = CreditTransaction.Kind

MAX_AMOUNT = 10**12

# Who may do what: frozen wallets receive but do not spend; suspended ones do nothing.
MAY_SPEND = (Wallet.Status.ACTIVE,)
MAY_RECEIVE = (Wallet.Status.ACTIVE, Wallet.Status.FROZEN)


def check_amount(amount: object, *, what: str = "The amount") -> int:
    if not isinstance(amount, int) or isinstance(amount, bool):
        raise InvalidRequest(f"{what} must be a whole number of credits.")
    if not 0 < amount <= MAX_AMOUNT:
        raise InvalidRequest(f"{what} must be between 1 and {MAX_AMOUNT} credits.")
    return amount


def check_text(value: object, *, what: str, required: bool = False, limit: int = 255) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidRequest(f"{what} must be text.")
    value = value.strip()
    if required and not value:
        raise InvalidRequest(f"{what} is required.")
    if len(value) > limit:
        raise InvalidRequest(f"{what} must be at most {limit} characters.")
    return value


STATUS_MEANING = {
    Wallet.Status.FROZEN: "This wallet is frozen: it may receive credits but not spend them.",
    Wallet.Status.SUSPENDED: "This wallet is suspended: no credits move in or out.",
}


def require_status(wallet: Wallet, *, allowed: Iterable[str]) -> None:
    if wallet.status not in allowed:
        raise WalletNotActive(STATUS_MEANING[wallet.status])
