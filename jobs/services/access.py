"""Who may see a job and who may work on it: one rule for pages, the API and the admin.

A job is its client's and its team's: the client, and staff who may deliver jobs. Anyone else
is told it does not exist (a 404), so job numbers reveal nothing.
"""

from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet

from jobs.errors import JobNotFound, NotAllowed
from jobs.models import Job

DELIVER_PERMISSION = "jobs.deliver"


def may_deliver(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.is_staff) and (
        user.has_perm(DELIVER_PERMISSION)
    )


def deliverers() -> QuerySet:
    """Active staff who may deliver jobs (the permission directly, through a group, or as a
    superuser): whom a job can be assigned to, and whom an unassigned job's news reaches."""
    codename = DELIVER_PERMISSION.split(".")[1]
    permitted = (
        Q(is_superuser=True)
        | Q(user_permissions__codename=codename, user_permissions__content_type__app_label="jobs")
        | Q(
            groups__permissions__codename=codename,
            groups__permissions__content_type__app_label="jobs",
        )
    )
    users = get_user_model().objects.filter(permitted, is_active=True, is_staff=True)
    return users.distinct().order_by("name", "email", "pk")


def may_see(job: Job, user) -> bool:
    return job.client_id == user.pk or may_deliver(user)


def require_can_see(job: Job, user) -> None:
    if not may_see(job, user):
        raise JobNotFound(f"No job #{job.pk}.")


def require_can_work_on(job: Job, user) -> None:
    require_can_see(job, user)


def require_deliverer(user) -> None:
    if not may_deliver(user):
        raise NotAllowed("Only staff who may deliver jobs can do this.")


def require_client(job: Job, user) -> None:
    require_can_see(job, user)
    if job.client_id != user.pk:
        raise NotAllowed("Only the job's client can do this.")


def party_to(milestone, user) -> str | None:
    """Why `user` is a party to a dispute on `milestone` (None if they are not): the job's
    client, and whoever did the work disputed (the job's assignee, the milestone's deliverers).
    A party never decides the dispute, at any level, nor handles it."""
    job = milestone.job
    if job.client_id == user.pk:
        return "Staff cannot handle a dispute on their own job: ask a colleague."
    if job.assignee_id == user.pk or milestone.deliveries.filter(delivered_by=user).exists():
        return (
            "Staff cannot handle a dispute on work they were assigned or delivered: "
            "ask a colleague."
        )
    return None


def require_not_party(milestone, user) -> None:
    reason = party_to(milestone, user)
    if reason:
        raise NotAllowed(reason)
