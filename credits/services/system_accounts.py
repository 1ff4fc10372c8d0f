"""The platform's system accounts: the other side of every posting.

Created by data migrations and never deleted, so their ids are looked up once per process and
cached. They are never locked or updated in the hot path: their balances are Σ their entries.
"""

from django.core.exceptions import ImproperlyConfigured

from credits.models import Wallet

# The platform's side of every posting. Created by a data migration; looked up once per process.
SYSTEM_WALLETS = (
    "purchases",
    "subscriptions",
    "promotions",
    "adjustments",
    "consumption",
    "expired",
    "refunds",
    "transfers",
)
_system_wallet_ids: dict[str, int] = {}


def system_wallet_id(code: str) -> int:
    """The id of a system account (never locked, never updated: its balance is Σ its entries).

    The accounts come from a migration and cannot be deleted, so their ids are cached. They are
    never created here: a creation that rolled back would leave a cached id of nothing.
    """
    if code not in _system_wallet_ids:
        wallet_id = (
            Wallet.objects.filter(system_code=code, kind=Wallet.Kind.SYSTEM)
            .values_list("pk", flat=True)
            .first()
        )
        if wallet_id is None:
            raise ImproperlyConfigured(
                f"The system account {code!r} is missing: run `manage.py migrate`."
            )
        _system_wallet_ids[code] = wallet_id
    return _system_wallet_ids[code]


def forget_system_wallet_ids() -> None:
    """Forget the cached system account ids: after switching databases they name the old one's."""
    _system_wallet_ids.clear()


def open_system_wallets() -> None:
    """Create any missing system account (as the migration does) and forget cached ids.

    For tests that empty the database; the migration does it everywhere else.
    """
    forget_system_wallet_ids()
    for code in SYSTEM_WALLETS:
        Wallet.objects.get_or_create(system_code=code, defaults={"kind": Wallet.Kind.SYSTEM})
