"""E-mails of the job flow, to the other side of each step, once the step commits."""

from django.urls import reverse

from core.email import send_after_commit
from core.links import absolute_url
from jobs.models import Job
from jobs.services.access import deliverers


def tell_client(job: Job, subject: str, text: str) -> None:
    link = absolute_url(reverse("jobs:detail", args=[job.pk]))
    send_after_commit(
        to=[job.client.email],
        subject=f"Job #{job.pk} ({job.title}): {subject}",
        body=f"{text}\n\nYour job: {link}\n",
    )


def tell_team(job: Job, subject: str, text: str) -> None:
    """The staff member assigned, or, while nobody is, everyone who may deliver jobs."""
    recipients = [job.assignee.email] if job.assignee_id else [u.email for u in deliverers()]
    recipients = [address for address in recipients if address]
    if not recipients:
        return
    link = absolute_url(reverse("jobs:detail", args=[job.pk]))
    send_after_commit(
        to=recipients,
        subject=f"Job #{job.pk} ({job.title}): {subject}",
        body=f"{text}\n\nThe job: {link}\n",
    )
