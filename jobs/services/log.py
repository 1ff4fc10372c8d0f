"""The job's activity log: one row per step, written in the step's own transaction."""

from jobs.models import Activity, Job, Milestone

Verb = Activity.Verb


def record(
    job: Job,
    verb: str,
    *,
    actor=None,
    milestone: Milestone | None = None,
    reason: str = "",
    now=None,
    **details,
) -> Activity:
    """Log a step: `actor` is the person (None for CreditDesk's own clock), `reason` what they
    gave, `details` the step's figures (credits captured, released…)."""
    fields = {"created_at": now} if now is not None else {}
    return Activity.objects.create(
        job=job,
        milestone=milestone,
        actor=actor,
        verb=verb,
        reason=reason,
        details=details,
        **fields,
    )
