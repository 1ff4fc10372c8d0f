"""The work on a submitted job: staff assign and deliver; the client accepts (all or part),
asks for changes or disputes; either side cancels what the rules allow; staff override with a
reason. Every step locks the job row first, then reads its milestone, so steps on one job take
turns (a click racing the review clock included) and each hold is settled once.

Credits move only here and in jobs.services.clock, through `settle`: a milestone's hold is
captured (what the client pays; the rest goes back to the wallet in the same ledger operation)
or released, under one idempotency key per milestone, so no path can settle it twice.
"""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from credits import services as credits
from jobs.errors import JobError, NotAllowed, WrongStatus
from jobs.models import Delivery, File, Job, Link, Milestone
from jobs.services.access import (
    require_can_see,
    require_client,
    require_deliverer,
    require_not_party,
)
from jobs.services.actor import JOBS
from jobs.services.drafts import checked_link, is_whole_credits
from jobs.services.log import Verb, record
from jobs.services.notify import tell_client, tell_team

Status = Milestone.Status


def assign(*, job: Job, assignee, by) -> Job:
    """Give a live job to a staff member who may deliver jobs (oneself or a colleague)."""
    require_deliverer(by)
    require_deliverer(assignee)
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        if not job.is_live:
            raise WrongStatus(
                f"Job #{job.pk} is {job.get_status_display().lower()}: nothing to assign."
            )
        if job.client_id == assignee.pk:
            raise NotAllowed("Nobody delivers their own job: assign a colleague.")
        job.assignee, job.assigned_at = assignee, timezone.now()
        job.status = Job.Status.IN_PROGRESS
        job.updated_at = job.assigned_at
        job.save(update_fields=["assignee", "assigned_at", "status", "updated_at"])
        record(job, Verb.ASSIGNED, actor=by, assignee=assignee.get_username())
        tell_client(
            job,
            "work has started",
            f"{assignee.get_username()} is working on your job.",
            event="job.updated",
        )
    return job


def deliver(*, milestone: Milestone, by, message: str, files=(), links=()) -> Delivery:
    """Deliver a funded milestone (or deliver it again after changes were asked): a message and
    at least one file of the job or link. The client's review window starts now."""
    require_deliverer(by)
    message = message.strip() if isinstance(message, str) else ""
    if not message:
        raise JobError("Say what you deliver.", field="message")
    checked_links = [checked_link(label, url) for label, url in links]
    with transaction.atomic():
        job, milestone = lock_milestone(milestone.pk)
        if job.client_id == by.pk:
            raise NotAllowed("Nobody delivers their own job: ask a colleague.")
        if milestone.status not in Milestone.TO_DELIVER:
            raise WrongStatus(
                f"Milestone {milestone.title!r} is {milestone.get_status_display().lower()}: "
                "only a funded milestone, or one whose changes were asked, can be delivered."
            )
        file_ids = {getattr(item, "pk", item) for item in files}
        attached = list(File.objects.filter(job=job, pk__in=file_ids))
        if len(attached) != len(file_ids):
            raise JobError("Deliver files of this job only.", field="files")
        # A file belongs to one delivery (File.delivery): delivering it again would take it off
        # the earlier one, whose record must stay as the client reviewed it.
        delivered_before = [item.name for item in attached if item.delivery_id is not None]
        if delivered_before:
            raise JobError(
                f"Already part of an earlier delivery: {', '.join(sorted(delivered_before))}. "
                "Upload a new version of the file to deliver it again.",
                field="files",
            )
        if not attached and not checked_links:
            raise JobError("Deliver at least one file or link.", field="files")
        now = timezone.now()
        delivery = Delivery.objects.create(
            milestone=milestone,
            number=milestone.deliveries.count() + 1,
            message=message,
            delivered_by=by,
            delivered_at=now,
        )
        File.objects.filter(pk__in=[item.pk for item in attached]).update(delivery=delivery)
        Link.objects.bulk_create(
            Link(job=job, delivery=delivery, label=label, url=url, added_by=by, created_at=now)
            for label, url in checked_links
        )
        milestone.status = Status.SUBMITTED
        milestone.review_ends_at = now + timedelta(days=settings.JOBS_REVIEW_DAYS)
        milestone.save(update_fields=["status", "review_ends_at"])
        if job.assignee_id is None:
            job.assignee, job.assigned_at, job.status = by, now, Job.Status.IN_PROGRESS
        job.updated_at = now
        job.save(update_fields=["assignee", "assigned_at", "status", "updated_at"])
        record(job, Verb.DELIVERED, actor=by, milestone=milestone, delivery=delivery.number)
        tell_client(
            job,
            f"{milestone.title} was delivered",
            f"Review it by {milestone.review_ends_at:%Y-%m-%d %H:%M} UTC: accept it, accept it "
            "in part, ask for changes or dispute it. If you do nothing it is accepted then and "
            f"its {milestone.amount:,} credits are paid.",
            event="milestone.delivered",
            milestone=milestone,
        )
    return delivery


def accept(*, milestone: Milestone, by) -> Milestone:
    """The client accepts a delivered milestone: its whole amount is captured."""
    with transaction.atomic():
        job, milestone = _locked_for_review(milestone, by)
        settle(job, milestone, pay=milestone.amount, verb=Verb.ACCEPTED, actor=by)
        tell_team(
            job,
            f"{milestone.title} was accepted",
            f"{milestone.amount:,} credits were paid.",
            event="milestone.accepted",
            milestone=milestone,
        )
    return milestone


def accept_in_part(*, milestone: Milestone, by, amount: int, reason: str) -> Milestone:
    """The client accepts part of a delivery: `amount` is captured, the rest goes back to them."""
    reason = _required_reason(reason)
    if not is_whole_credits(amount) or amount <= 0:
        raise JobError("Pay a whole number of credits above 0.", field="amount")
    with transaction.atomic():
        job, milestone = _locked_for_review(milestone, by)
        if amount >= milestone.amount:
            raise JobError(
                f"Accepting in part pays less than the milestone's {milestone.amount:,} credits: "
                "accept it instead.",
                field="amount",
            )
        settle(job, milestone, pay=amount, verb=Verb.ACCEPTED_IN_PART, actor=by, reason=reason)
        tell_team(
            job,
            f"{milestone.title} was accepted in part",
            f"{amount:,} of {milestone.amount:,} credits were paid. The client's reason: {reason}",
            event="milestone.accepted",
            milestone=milestone,
        )
    return milestone


def request_changes(*, milestone: Milestone, by, reason: str) -> Milestone:
    """The client asks for changes (at most JOBS_MAX_REVISIONS times): the review clock stops
    until the next delivery."""
    reason = _required_reason(reason)
    with transaction.atomic():
        job, milestone = _locked_for_review(milestone, by)
        used = milestone.activity.filter(verb=Verb.CHANGES_REQUESTED).count()
        if used >= settings.JOBS_MAX_REVISIONS:
            raise WrongStatus(
                f"You have asked for changes {used} times, the most a milestone allows: "
                "accept it (in full or in part) or dispute it."
            )
        milestone.status = Status.CHANGES_REQUESTED
        milestone.review_ends_at = None
        milestone.changes_requested_at = timezone.now()
        milestone.save(update_fields=["status", "review_ends_at", "changes_requested_at"])
        record(
            job,
            Verb.CHANGES_REQUESTED,
            actor=by,
            milestone=milestone,
            reason=reason,
            revision=used + 1,
        )
        tell_team(
            job,
            f"changes asked on {milestone.title}",
            f"The client's reason: {reason}",
            event="job.updated",
            milestone=milestone,
        )
    return milestone


def cancel_milestone(*, milestone: Milestone, by, reason: str = "") -> Milestone:
    """The client cancels a milestone not delivered (or waiting for changes): its credits come
    back. A delivered one must be decided first."""
    with transaction.atomic():
        job, milestone = lock_milestone(milestone.pk)
        require_client(job, by)
        if job.is_draft:
            # A draft reserves nothing: its plan is changed, not cancelled (plan_milestones).
            raise WrongStatus(
                f"Job #{job.pk} is a draft: nothing is reserved yet. Remove the milestone from "
                "the plan on the planning page instead."
            )
        _require_cancellable(milestone)
        settle(job, milestone, pay=0, verb=Verb.CANCELLED, actor=by, reason=reason.strip())
        tell_team(
            job,
            f"{milestone.title} was cancelled",
            "The client cancelled it.",
            event="job.updated",
            milestone=milestone,
        )
    return milestone


def cancel_job(*, job: Job, by, reason: str = "") -> Job:
    """Cancel what is left of a job: a draft is closed; a live job's undelivered milestones are
    cancelled and their credits released. The client must first decide any delivered one; staff
    (with a reason) release those too."""
    staff = by.pk != job.client_id
    if staff:
        require_deliverer(by)
        reason = _required_reason(reason)
    with transaction.atomic():
        job = Job.objects.select_for_update().get(pk=job.pk)
        require_can_see(job, by)
        if job.status in Job.CLOSED:
            raise WrongStatus(f"Job #{job.pk} is already {job.get_status_display().lower()}.")
        open_milestones = [m for m in job.milestones.select_for_update() if not m.is_final]
        if not staff:
            for milestone in open_milestones:
                _require_cancellable(milestone)
        elif any(m.status == Status.DISPUTED for m in open_milestones):
            raise WrongStatus(
                "A milestone is disputed: settle the dispute in the dispute queue first."
            )
        verb = Verb.FORCE_RELEASED if staff else Verb.CANCELLED
        for milestone in open_milestones:
            if milestone.hold_id:
                settle(job, milestone, pay=0, verb=verb, actor=by, reason=reason, close=False)
            else:
                milestone.status = Status.CANCELLED
                milestone.save(update_fields=["status"])
        _close(job, by=by, reason=reason)
        if staff:
            tell_client(
                job,
                "your job was cancelled",
                f"Our team cancelled it: {reason}",
                event="job.updated",
            )
        else:
            tell_team(job, "the job was cancelled", "The client cancelled it.", event="job.updated")
    return job


def force_accept(*, milestone: Milestone, staff, reason: str) -> Milestone:
    """Staff accept any open, funded milestone for the client (its whole amount), with a reason
    written to the log and the ledger."""
    return _override(milestone, staff, reason, verb=Verb.FORCE_ACCEPTED)


def force_release(*, milestone: Milestone, staff, reason: str) -> Milestone:
    """Staff cancel any open, funded milestone and give its credits back, with a reason."""
    return _override(milestone, staff, reason, verb=Verb.FORCE_RELEASED)


def _override(milestone: Milestone, staff, reason: str, *, verb: str) -> Milestone:
    require_deliverer(staff)
    reason = _required_reason(reason)
    with transaction.atomic():
        job, milestone = lock_milestone(milestone.pk)
        if job.client_id == staff.pk:
            raise NotAllowed("Staff cannot override on their own job: ask a colleague.")
        if milestone.is_final or milestone.status == Status.PLANNED:
            raise WrongStatus(
                f"Milestone {milestone.title!r} is {milestone.get_status_display().lower()}: "
                "only a funded milestone can be accepted or released."
            )
        if milestone.status == Status.DISPUTED:
            raise WrongStatus("The milestone is disputed: settle it in the dispute queue.")
        pay = milestone.amount if verb == Verb.FORCE_ACCEPTED else 0
        settle(job, milestone, pay=pay, verb=verb, actor=staff, reason=reason)
        what = "accepted" if pay else "cancelled, and its credits given back"
        tell_client(
            job,
            f"{milestone.title} was {what.split(',')[0]}",
            f"Our team {what}: {reason}",
            event="milestone.accepted" if pay else "job.updated",
            milestone=milestone,
        )
    return milestone


def mark_disputed(*, milestone: Milestone, by, reason: str) -> Milestone:
    """The client disputes a delivered milestone (the disputes app opens the case): the review
    clock stops and nothing is paid until staff settle it (`settle_dispute`)."""
    with transaction.atomic():
        job, milestone = _locked_for_review(milestone, by)
        milestone.status = Status.DISPUTED
        milestone.review_ends_at = None
        milestone.save(update_fields=["status", "review_ends_at"])
        record(job, Verb.DISPUTED, actor=by, milestone=milestone, reason=reason)
        tell_team(
            job,
            f"{milestone.title} is disputed",
            f"The client's reason: {reason}",
            event="milestone.disputed",
            milestone=milestone,
        )
    return milestone


def settle_dispute(*, milestone: Milestone, staff, pay: int, note: str = "") -> Milestone:
    """Staff settle a disputed milestone: pay all of it, part, or nothing (released).

    Called by the disputes app once its own rules let the staff member decide the case (who
    handles disputes need not deliver jobs); nobody settles a dispute on their own job, nor on
    a job assigned to them or a milestone they delivered."""
    if not (staff.is_active and staff.is_staff):
        raise NotAllowed("Only staff settle disputes.")
    with transaction.atomic():
        job, milestone = lock_milestone(milestone.pk)
        require_not_party(milestone, staff)
        if milestone.status != Status.DISPUTED:
            raise WrongStatus(f"Milestone {milestone.title!r} is not disputed.")
        if not is_whole_credits(pay) or not 0 <= pay <= milestone.amount:
            raise JobError(f"Pay between 0 and {milestone.amount:,} credits.", field="amount")
        settle(job, milestone, pay=pay, verb=Verb.DISPUTE_SETTLED, actor=staff, reason=note)
    return milestone


def settle_unanswered_dispute(*, milestone: Milestone, note: str) -> Milestone | None:
    """The default outcome of a dispute whose client left staff's question unanswered: the
    milestone is accepted in full (its delivered work paid), by the system. None if the milestone
    is no longer disputed (settled by staff since). The milestone's settle key makes a second
    run capture nothing more."""
    with transaction.atomic():
        job, milestone = lock_milestone(milestone.pk)
        if milestone.status != Status.DISPUTED:
            return None
        settle(job, milestone, pay=milestone.amount, verb=Verb.DISPUTE_SETTLED, reason=note)
    return milestone


def settle(
    job: Job,
    milestone: Milestone,
    *,
    pay: int,
    verb: str,
    actor=None,
    reason: str = "",
    close: bool = True,
) -> None:
    """Pay `pay` credits of the milestone's hold (the rest goes back to the client) or, with 0,
    release it all; then the milestone is decided, and the job closes when nothing is left.
    The caller holds the job's lock and has checked the step."""
    label = actor.get_username() if actor is not None else "CreditDesk"
    description = f"Job #{job.pk} · {milestone.title}: {Verb(verb).label} ({label})"[:255]
    key = f"job-milestone:{milestone.pk}:settle"
    if pay:
        credits.capture(
            hold=milestone.hold,
            actor=JOBS,
            idempotency_key=key,
            amount=pay,
            final=True,
            description=description,
            metadata={
                "job": job.pk,
                "milestone": milestone.pk,
                **({"reason": reason[:500]} if reason else {}),
            },
        )
    else:
        credits.release(
            hold=milestone.hold,
            actor=JOBS,
            idempotency_key=key,
            description=description[:255],
            metadata={
                "job": job.pk,
                "milestone": milestone.pk,
                **({"reason": reason[:500]} if reason else {}),
            },
        )
    now = timezone.now()
    if pay == milestone.amount:
        milestone.status = Status.ACCEPTED
    elif pay:
        milestone.status = Status.ACCEPTED_IN_PART
    else:
        milestone.status = Status.CANCELLED
    milestone.review_ends_at = None
    milestone.decided_at = now
    milestone.decision_reason = reason
    milestone.save(update_fields=["status", "review_ends_at", "decided_at", "decision_reason"])
    record(
        job,
        verb,
        actor=actor,
        milestone=milestone,
        reason=reason,
        now=now,
        captured=pay,
        released=milestone.amount - pay,
    )
    if close and not job.milestones.exclude(status__in=Milestone.FINAL).exists():
        _close(job, by=actor, reason="")


def _close(job: Job, *, by, reason: str) -> None:
    paid = job.milestones.filter(status__in=[Status.ACCEPTED, Status.ACCEPTED_IN_PART]).exists()
    job.status = Job.Status.COMPLETED if paid else Job.Status.CANCELLED
    job.closed_at = job.updated_at = timezone.now()
    job.save(update_fields=["status", "closed_at", "updated_at"])
    record(job, Verb.COMPLETED if paid else Verb.JOB_CANCELLED, actor=by, reason=reason)
    if paid:
        tell_client(
            job,
            "completed",
            "Every milestone is decided: the job is complete.",
            event="job.updated",
        )


def lock_milestone(milestone_id: int) -> tuple[Job, Milestone]:
    """The milestone and its job, locked job first (every step on a job takes this order)."""
    job_id = Milestone.objects.values_list("job_id", flat=True).get(pk=milestone_id)
    job = Job.objects.select_for_update().get(pk=job_id)
    return job, Milestone.objects.select_for_update().get(pk=milestone_id)


def _locked_for_review(milestone: Milestone, by) -> tuple[Job, Milestone]:
    job, milestone = lock_milestone(milestone.pk)
    require_client(job, by)
    if milestone.status != Status.SUBMITTED:
        raise WrongStatus(
            f"Milestone {milestone.title!r} is {milestone.get_status_display().lower()}: only a "
            "delivered milestone in review can be accepted, questioned or disputed."
        )
    return job, milestone


def _require_cancellable(milestone: Milestone) -> None:
    if milestone.status in (Status.SUBMITTED, Status.DISPUTED):
        raise WrongStatus(
            f"Milestone {milestone.title!r} was delivered: accept it, accept it in part, ask "
            "for changes or dispute it before cancelling."
        )
    if milestone.is_final:
        raise WrongStatus(
            f"Milestone {milestone.title!r} is already {milestone.get_status_display().lower()}."
        )


def _required_reason(reason) -> str:
    reason = reason.strip() if isinstance(reason, str) else ""
    if not reason:
        raise JobError("Give a reason.", field="reason")
    if len(reason) > 2000:
        raise JobError("The reason must be at most 2,000 characters.", field="reason")
    return reason
