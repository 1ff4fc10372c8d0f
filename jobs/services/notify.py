"""E-mails of the job flow, to the other side of each step, once the step commits."""

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse

from core.email import send_after_commit
from core.links import absolute_url
from jobs.models import Job
from jobs.services.access import DELIVER_PERMISSION


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


def deliverers():
    """Active staff who may deliver jobs (the permission directly, through a group, or as a
    superuser)."""
    codename = DELIVER_PERMISSION.split(".")[1]
    permitted = (
        Q(is_superuser=True)
        | Q(user_permissions__codename=codename, user_permissions__content_type__app_label="jobs")
        | Q(
            groups__permissions__codename=codename,
            groups__permissions__content_type__app_label="jobs",
        )
    )
    return (
        get_user_model()
        .objects.filter(permitted, is_active=True, is_staff=True)
        .distinct()
        .order_by("pk")
    )
