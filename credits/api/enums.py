"""Names for the schema's enums that share a field name ("status"), read by drf-spectacular
(SPECTACULAR_SETTINGS' ENUM_NAME_OVERRIDES)."""

from credits.models import Hold, Wallet

WALLET_STATUS = Wallet.Status.choices
HOLD_STATUS = Hold.Status.choices
