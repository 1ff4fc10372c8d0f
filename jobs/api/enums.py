"""Names for the schema's enums that share a field name ("status"), read by drf-spectacular
(SPECTACULAR_SETTINGS' ENUM_NAME_OVERRIDES)."""

from jobs.models import Job, Milestone

JOB_STATUS = Job.Status.choices
MILESTONE_STATUS = Milestone.Status.choices
