"""Names for the schema's enums that share a field name ("status"), read by drf-spectacular
(SPECTACULAR_SETTINGS' ENUM_NAME_OVERRIDES)."""

from disputes.models import Dispute

DISPUTE_STATUS = Dispute.Status.choices
