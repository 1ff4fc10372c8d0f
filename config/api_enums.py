"""Names for the API schema's enums that share a field name ("status"), read by drf-spectacular."""

from credits.models import Hold, Wallet
from disputes.models import Dispute

WALLET_STATUS = Wallet.Status.choices
HOLD_STATUS = Hold.Status.choices
DISPUTE_STATUS = Dispute.Status.choices
