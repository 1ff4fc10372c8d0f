"""The job flow's notices, to the other side of each step: each is an event announced in the
step's transaction (job.opened, job.updated, milestone.*; payload in docs/events.md, "Disputes
and jobs"), which the notifications app e-mails once the step commits."""

from django.urls import reverse

from events.outbox import announce
from jobs.models import Job, Milestone
from jobs.services.access import deliverers


def tell_client(
    job: Job, subject: str, text: str, *, event: str, milestone: Milestone | None = None
) -> None:
    _announce(job, subject, text, event, milestone, notify="user", recipient_ids=[job.client_id])


def tell_team(
    job: Job, subject: str, text: str, *, event: str, milestone: Milestone | None = None
) -> None:
    """The staff member assigned, or, while nobody is, everyone who may deliver jobs."""
    recipients = [job.assignee_id] if job.assignee_id else [user.pk for user in deliverers()]
    if recipients:
        _announce(job, subject, text, event, milestone, notify="team", recipient_ids=recipients)


def _announce(job: Job, subject: str, text: str, event: str, milestone, **audience) -> None:
    data = {
        "job_id": job.pk,
        "title": job.title,
        "status": job.status,
        "budget": job.budget,
        "milestone_id": milestone.pk if milestone else None,
        "milestone_title": milestone.title if milestone else None,
        "milestone_status": milestone.status if milestone else None,
        "amount": milestone.amount if milestone else None,
        "subject": f"Job #{job.pk} ({job.title}): {subject}",
        "message": text,
        "path": reverse("jobs:detail", args=[job.pk]),
        **audience,
    }
    announce(event, data=data, user_id=job.client_id)
