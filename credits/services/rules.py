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


# A caller's own notes on what it asks (its order id, its customer…), kept as given and shown
# back: a small flat JSON object, limited as Stripe limits its metadata.
METADATA_MAX_KEYS = 20
METADATA_MAX_KEY_LENGTH = 40
METADATA_MAX_TEXT_LENGTH = 500
METADATA_RULE = (
    f"a JSON object of at most {METADATA_MAX_KEYS} keys, each 1 to {METADATA_MAX_KEY_LENGTH} "
    f"characters, whose values are text of at most {METADATA_MAX_TEXT_LENGTH} characters, "
    "whole numbers, true, false or null"
)


def check_metadata(metadata: object, *, reserved: tuple[str, ...] = ()) -> dict | None:
    """The caller's metadata as it will be stored (None stays None, so the fingerprints of
    requests without any stay as they were); refused, naming the field, unless it keeps
    METADATA_RULE. `reserved` keys are the ledger's own on that transaction."""
    if metadata is None:
        return None
    if not isinstance(metadata, dict):
        raise _bad_metadata(f"Metadata must be {METADATA_RULE}.")
    if len(metadata) > METADATA_MAX_KEYS:
        raise _bad_metadata(f"Metadata has {len(metadata)} keys: it may have {METADATA_MAX_KEYS}.")
    for name, value in metadata.items():
        if not isinstance(name, str) or not 1 <= len(name) <= METADATA_MAX_KEY_LENGTH:
            raise _bad_metadata(
                f"Metadata keys are 1 to {METADATA_MAX_KEY_LENGTH} characters: {str(name)[:50]!r}."
            )
        if name in reserved:
            raise _bad_metadata(f"Metadata cannot use the key {name!r}: the ledger sets it.")
        # PostgreSQL keeps no NUL character in text or JSON: refused here, not a 500 there.
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            raise _bad_metadata(f"Metadata {name[:50]!r} contains a NUL character (\\u0000).")
        if isinstance(value, str):
            if len(value) > METADATA_MAX_TEXT_LENGTH:
                raise _bad_metadata(
                    f"Metadata {name!r} is {len(value)} characters long: at most "
                    f"{METADATA_MAX_TEXT_LENGTH}."
                )
        elif value is not None and not isinstance(value, int):  # bool is an int
            raise _bad_metadata(
                f"Metadata {name!r} must be text, a whole number, true, false or null."
            )
    return dict(metadata)


def _bad_metadata(message: str) -> InvalidRequest:
    return InvalidRequest(message, field="metadata")


STATUS_MEANING = {
    Wallet.Status.FROZEN: "This wallet is frozen: it may receive credits but not spend them.",
    Wallet.Status.SUSPENDED: "This wallet is suspended: no credits move in or out.",
}


def require_status(wallet: Wallet, *, allowed: Iterable[str]) -> None:
    if wallet.status not in allowed:
        raise WalletNotActive(STATUS_MEANING[wallet.status])
