"""The dispute workflow: open → under review (→ waiting for the user) → resolved or rejected;
a rejection may be escalated once, to level 2. Refunds go through `credits.refund`.

A dispute is about a transaction of the user's, or about a delivered milestone of their job
that they dispute instead of accepting (`open_milestone_dispute`: the milestone's hold stays
reserved and its review clock stops). The same queue, steps and levels decide both; for a
milestone whose hold is still reserved, the steps map onto the job's outcomes, settled once
through `jobs.services.settle_dispute`:

- resolve with X credits back (1 ≤ X ≤ what was asked): the milestone's amount - X is paid
  and X goes back to the client (capture part); X = the whole amount pays nothing (release);
- reject: the whole milestone is paid (capture all: the client's claim is turned down), and
  that capture becomes the dispute's `transaction`, so an escalation (level 2) is an ordinary
  transaction dispute, resolved with a refund through `credits.refund` or rejected again.

Every change announces a dispute event in its transaction (dispute.opened / .updated /
.resolved, with the step in words and whom to tell: events.outbox); the notifications app
e-mails the people concerned once it commits (docs/events.md).
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from credits import services as credits
from credits.actors import Actor
from credits.errors import CreditError
from credits.models import CreditTransaction, StaffAction
from credits.services import Reference
from disputes.errors import DisputeError
from disputes.models import Dispute, DisputeMessage
from events.outbox import announce
from jobs import services as jobs
from jobs.errors import JobError
from jobs.models import Milestone

Kind = CreditTransaction.Kind
DISPUTABLE_KINDS = (Kind.SPEND, Kind.CAPTURE, Kind.ADJUSTMENT, Kind.EXPIRY)
Status = Dispute.Status
Reason = Dispute.Reason
# What a client may say of a delivered milestone (not "charged twice" or "expired unfairly").
MILESTONE_REASONS = (Reason.NOT_DELIVERED, Reason.POOR_QUALITY, Reason.WRONG_AMOUNT, Reason.OTHER)


def disputable_amount(txn: CreditTransaction) -> int:
    """Credits of the transaction not refunded yet (what a dispute may still ask back)."""
    return txn.amount - credits.refunded_amount(txn)


def why_not_disputable(*, user, txn: CreditTransaction) -> str | None:
    """None if the user may dispute the transaction now; otherwise the reason, in words."""
    if txn.wallet.user_id != user.pk:
        return "You can only dispute your own transactions."
    if txn.kind not in DISPUTABLE_KINDS:
        return "Only spends, captures, adjustments and expiries can be disputed."
    window = timedelta(days=settings.DISPUTE_WINDOW_DAYS)
    if timezone.now() - txn.created_at > window:
        return f"Transactions can be disputed for {settings.DISPUTE_WINDOW_DAYS} days."
    if txn.disputes.filter(status__in=Dispute.ACTIVE).exists():
        return "This transaction already has an open dispute."
    rejected = txn.disputes.filter(status=Status.REJECTED).order_by("-pk").first()
    if rejected is not None:
        # A rejection is answered by escalating it (once), not by opening the same case again.
        if rejected.level == 1:
            return f"Your dispute #{rejected.pk} on this charge was rejected: escalate it instead."
        return f"Your dispute #{rejected.pk} on this charge was rejected after a senior review."
    if disputable_amount(txn) <= 0:
        return "This transaction has been refunded in full."
    return None


@transaction.atomic
def open_dispute(*, user, txn: CreditTransaction, reason: str, description: str, amount: int):
    reason_text = why_not_disputable(user=user, txn=txn)
    if reason_text:
        raise DisputeError(reason_text)
    if reason not in Dispute.Reason.values:
        raise DisputeError("Choose a reason from the list.")
    description = (description or "").strip()
    if not description:
        raise DisputeError("Describe what went wrong.")
    left = disputable_amount(txn)
    if not isinstance(amount, int) or not 1 <= amount <= left:
        raise DisputeError(f"The amount must be between 1 and {left} credits.")
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                user=user, transaction=txn, reason=reason, description=description, amount=amount
            )
    except IntegrityError as error:  # a second tab opened one a moment ago
        raise DisputeError("This transaction already has an open dispute.") from error
    _tell_user(
        dispute,
        "We received your dispute",
        "We will look at it and reply here.",
        event="dispute.opened",
    )
    return dispute


def why_milestone_not_disputable(*, user, milestone: Milestone) -> str | None:
    """None if the user may dispute the milestone now; otherwise the reason, in words (the
    caller has checked that the user may see the job)."""
    if milestone.job.client_id != user.pk:
        return "Only the job's client can dispute its milestones."
    if milestone.disputes.filter(status__in=Dispute.ACTIVE).exists():
        return "This milestone already has an open dispute."
    if milestone.status != Milestone.Status.SUBMITTED:
        return (
            f"Milestone {milestone.title!r} is {milestone.get_status_display().lower()}: only a "
            "delivered milestone in review can be disputed."
        )
    return None


@transaction.atomic
def open_milestone_dispute(
    *, user, milestone: Milestone, reason: str, description: str, amount: int
) -> Dispute:
    """The client disputes a delivered milestone instead of accepting it, asking `amount` of its
    credits back. Nothing is paid, and the clock never accepts it, until staff decide.

    Another user's job is a 404 (jobs.errors.JobNotFound) before any input is looked at;
    `jobs.services.mark_disputed` refuses a milestone not in review and anyone but the client.
    """
    jobs.require_can_see(milestone.job, user)
    if reason not in MILESTONE_REASONS:
        raise DisputeError("Choose a reason from the list.", field="reason")
    description = description.strip() if isinstance(description, str) else ""
    if not description:
        raise DisputeError("Describe what went wrong.", field="description")
    if (
        isinstance(amount, bool)
        or not isinstance(amount, int)
        or not 1 <= amount <= milestone.amount
    ):
        raise DisputeError(
            f"The amount must be between 1 and {milestone.amount:,} credits.", field="amount"
        )
    milestone = jobs.mark_disputed(milestone=milestone, by=user, reason=description)
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(
                user=user,
                milestone=milestone,
                reason=reason,
                description=description,
                amount=amount,
            )
    except IntegrityError as error:  # cannot happen while mark_disputed guards it; kept as a net
        raise DisputeError("This milestone already has an open dispute.") from error
    _tell_user(
        dispute,
        "We received your dispute",
        "We will look at it and reply here.",
        event="dispute.opened",
    )
    return dispute


def _milestone_waits(dispute: Dispute) -> bool:
    """Whether the dispute is about a milestone whose hold is still reserved (so deciding it
    settles the milestone), rather than about a transaction."""
    return dispute.transaction_id is None


def _settle_milestone(dispute: Dispute, staff, *, pay: int, note: str) -> Milestone:
    """Pay `pay` of the disputed milestone (the rest goes back) through the jobs service, which
    settles a hold once and refuses a milestone no longer disputed."""
    try:
        return jobs.settle_dispute(milestone=dispute.milestone, staff=staff, pay=pay, note=note)
    except (JobError, CreditError) as error:
        raise DisputeError(error.message) from error


def _wallet(dispute: Dispute):
    """The disputing user's wallet, where the staff audit trail files each step."""
    return dispute.transaction.wallet if dispute.transaction_id else dispute.user.wallet


def _tell_user(dispute: Dispute, subject: str, text: str, *, event: str | None = None) -> None:
    _announce(
        dispute,
        subject,
        text,
        event=event,
        notify="user",
        recipient_ids=[dispute.user_id],
        path=reverse("disputes:detail", args=[dispute.pk]),
    )


def _tell_assignee(dispute: Dispute, subject: str, text: str) -> None:
    if dispute.assignee_id:
        # Staff work on disputes in the admin's dispute queue.
        _announce(
            dispute,
            subject,
            text,
            notify="team",
            recipient_ids=[dispute.assignee_id],
            path=reverse("admin:disputes_dispute_change", args=[dispute.pk]),
        )


def _announce(dispute: Dispute, subject: str, text: str, *, event=None, **audience) -> None:
    """The step as an event (payload: docs/events.md, "Disputes and jobs"): `event` or, by the
    dispute's status, dispute.resolved once it is closed and dispute.updated before."""
    if event is None:
        event = "dispute.updated" if dispute.is_active else "dispute.resolved"
    data = {
        "dispute_id": dispute.pk,
        "status": dispute.status,
        "level": dispute.level,
        "reason": dispute.reason,
        "amount": dispute.amount,
        "transaction_id": dispute.transaction_id,
        "milestone_id": dispute.milestone_id,
        "subject": f"Dispute #{dispute.pk}: {subject}",
        "message": text,
        **audience,
    }
    announce(event, data=data, user_id=dispute.user_id)


def _locked(dispute: Dispute) -> Dispute:
    locked = Dispute.objects.select_for_update(of=("self",))
    return locked.select_related("user", "assignee").get(pk=dispute.pk)


def _require_staff(staff, dispute: Dispute) -> None:
    if not staff.is_staff:
        raise DisputeError("Only staff can do this.")
    if dispute.user_id == staff.pk:
        raise DisputeError("Staff cannot decide their own dispute: a colleague will.")
    if dispute.level == 2 and not staff.has_perm("disputes.handle_escalated"):
        raise DisputeError("An escalated dispute needs a senior staff member.")
    if dispute.milestone_id is not None:
        conflict = jobs.party_to(dispute.milestone, staff)
        if conflict:
            raise DisputeError(conflict)


def _first_response(dispute: Dispute) -> None:
    if dispute.first_response_at is None:
        dispute.first_response_at = timezone.now()


@transaction.atomic
def assign(*, dispute: Dispute, assignee, by) -> Dispute:
    dispute = _locked(dispute)
    if not assignee.is_staff:
        raise DisputeError("Disputes can only be assigned to staff.")
    if assignee.pk == dispute.user_id:
        raise DisputeError("A dispute cannot be assigned to the staff member who opened it.")
    if dispute.milestone_id is not None and jobs.party_to(dispute.milestone, assignee):
        raise DisputeError("A dispute cannot be assigned to someone who did the work disputed.")
    if not dispute.is_active:
        raise DisputeError("This dispute is closed.")
    dispute.assignee = assignee
    credits.record_staff_action(
        staff_id=by.pk,
        kind=StaffAction.Kind.DISPUTE_ASSIGNED,
        wallet=_wallet(dispute),
        reason=f"Assigned to {assignee}",
        reference=dispute,
    )
    if dispute.status == Status.OPEN:
        dispute.status = Status.UNDER_REVIEW
        _first_response(dispute)
        _tell_user(dispute, "under review", "A member of staff is looking at your dispute.")
    dispute.save()
    return dispute


@transaction.atomic
def post_message(*, dispute: Dispute, author, body: str, internal: bool = False) -> DisputeMessage:
    """Add to the thread. A user's reply to a request for information puts the dispute back
    under review; a staff reply counts as the first response."""
    dispute = _locked(dispute)
    body = (body or "").strip()
    if not body:
        raise DisputeError("Write a message first.")
    is_staff = author.pk != dispute.user_id
    if is_staff and not author.is_staff:
        raise DisputeError("Only the user and staff can write in a dispute.")
    if internal and not is_staff:
        raise DisputeError("Only staff can write internal notes.")
    if not dispute.is_active and not internal:
        raise DisputeError("This dispute is closed; it takes no more messages.")
    message = DisputeMessage.objects.create(
        dispute=dispute, author=author, body=body, internal=internal
    )
    if internal:
        return message
    if is_staff:
        _first_response(dispute)
        dispute.save(update_fields=["first_response_at"])
        _tell_user(dispute, "new reply", f"Staff replied:\n\n{body}")
    else:
        if dispute.status == Status.AWAITING_USER:
            dispute.status = Status.UNDER_REVIEW
            dispute.awaiting_user_since = None  # answered: the deadline stops
            dispute.save(update_fields=["status", "awaiting_user_since"])
        _tell_assignee(dispute, "the user replied", body)
    return message


@transaction.atomic
def request_information(*, dispute: Dispute, staff, question: str) -> Dispute:
    dispute = _locked(dispute)
    _require_staff(staff, dispute)
    if dispute.status not in (Status.OPEN, Status.UNDER_REVIEW):
        raise DisputeError("Information can be asked only while the dispute is being reviewed.")
    question = (question or "").strip()
    if not question:
        raise DisputeError("Write the question for the user.")
    DisputeMessage.objects.create(dispute=dispute, author=staff, body=question)
    credits.record_staff_action(
        staff_id=staff.pk,
        kind=StaffAction.Kind.INFORMATION_REQUESTED,
        wallet=_wallet(dispute),
        reason=question,
        reference=dispute,
    )
    dispute.status = Status.AWAITING_USER
    # Each question starts the client's own deadline and reminders (run_deadlines).
    dispute.awaiting_user_since = timezone.now()
    dispute.reminded_72h_at = dispute.reminded_24h_at = None
    dispute.assignee = dispute.assignee or staff
    _first_response(dispute)
    dispute.save()
    _tell_user(dispute, "we need more information", f"{question}\n\nReply on the dispute page.")
    return dispute


@transaction.atomic
def resolve(*, dispute: Dispute, staff, amount: int, note: str = "") -> Dispute:
    """Close the dispute with a refund of `amount` credits, posted through the ledger; for a
    milestone still reserved, `amount` goes back to the client and the rest is paid."""
    dispute = _locked(dispute)
    _require_staff(staff, dispute)
    if not dispute.is_active:
        raise DisputeError("This dispute is already closed.")
    if _milestone_waits(dispute):
        return _resolve_milestone(dispute, staff, amount=amount, note=note.strip())
    left = disputable_amount(dispute.transaction)
    if not isinstance(amount, int) or not 1 <= amount <= min(left, dispute.amount):
        raise DisputeError(f"The refund must be between 1 and {min(left, dispute.amount)} credits.")
    try:
        refund = credits.refund(
            transaction=dispute.transaction,
            amount=amount,
            description=f"Refund for dispute #{dispute.pk}",
            reference=Reference(text=f"Dispute #{dispute.pk}", obj=dispute),
            actor=Actor.for_staff(staff),
            idempotency_key=f"dispute:{dispute.pk}:refund",
        )
    except CreditError as error:
        raise DisputeError(error.message) from error
    if note.strip():
        DisputeMessage.objects.create(dispute=dispute, author=staff, body=note.strip())
    dispute.refund = refund
    _close(dispute, Status.RESOLVED, staff)
    credits.record_staff_action(
        staff_id=staff.pk,
        kind=StaffAction.Kind.DISPUTE_REFUND,
        wallet=_wallet(dispute),
        amount=amount,
        reason=note.strip(),
        transaction=refund,
        reference=dispute,
    )
    _tell_user(dispute, "resolved", f"{amount} credits were refunded to your wallet.\n\n{note}")
    return dispute


def _resolve_milestone(dispute: Dispute, staff, *, amount: int, note: str) -> Dispute:
    milestone = dispute.milestone
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= dispute.amount:
        raise DisputeError(f"The credits given back must be between 1 and {dispute.amount:,}.")
    pay = milestone.amount - amount
    _settle_milestone(dispute, staff, pay=pay, note=note)
    if note:
        DisputeMessage.objects.create(dispute=dispute, author=staff, body=note)
    _close(dispute, Status.RESOLVED, staff)
    credits.record_staff_action(
        staff_id=staff.pk,
        kind=StaffAction.Kind.DISPUTE_REFUND,
        wallet=_wallet(dispute),
        amount=amount,
        reason=note,
        reference=dispute,
    )
    paid = f"; {pay:,} were paid for the work" if pay else "; nothing was paid for the work"
    _tell_user(
        dispute,
        "resolved",
        f"{amount:,} of the {milestone.amount:,} credits reserved for {milestone.title} are back "
        f"in your wallet{paid}.\n\n{note}",
    )
    return dispute


@transaction.atomic
def reject(*, dispute: Dispute, staff, reason: str) -> Dispute:
    dispute = _locked(dispute)
    _require_staff(staff, dispute)
    if not dispute.is_active:
        raise DisputeError("This dispute is already closed.")
    reason = (reason or "").strip()
    if not reason:
        raise DisputeError("Give the reason for rejecting the dispute.")
    paid = ""
    if _milestone_waits(dispute):
        # Rejecting the claim pays the whole milestone; its capture is then what an escalation
        # disputes, as any charge.
        milestone = _settle_milestone(dispute, staff, pay=dispute.milestone.amount, note=reason)
        dispute.transaction = CreditTransaction.objects.get(
            hold_id=milestone.hold_id, kind=Kind.CAPTURE
        )
        paid = f" The {milestone.amount:,} credits of {milestone.title} were paid."
    dispute.rejection_reason = reason
    _close(dispute, Status.REJECTED, staff)
    credits.record_staff_action(
        staff_id=staff.pk,
        kind=StaffAction.Kind.DISPUTE_REJECTED,
        wallet=_wallet(dispute),
        reason=reason,
        reference=dispute,
    )
    escalation = " You may escalate it once from the dispute page." if dispute.level == 1 else ""
    _tell_user(dispute, "rejected", f"{reason}{paid}{escalation}")
    return dispute


def _close(dispute: Dispute, status: str, staff) -> None:
    dispute.status = status
    dispute.closed_at = timezone.now()
    dispute.assignee = dispute.assignee or staff
    _first_response(dispute)
    dispute.save()


@transaction.atomic
def escalate(*, dispute: Dispute, user, reason: str = "") -> Dispute:
    """A rejected dispute goes back under review, once, at level 2 (senior staff)."""
    dispute = _locked(dispute)
    if dispute.user_id != user.pk:
        raise DisputeError("Only the person who opened the dispute can escalate it.")
    if dispute.status != Status.REJECTED:
        raise DisputeError("Only a rejected dispute can be escalated.")
    if dispute.level == 2:
        raise DisputeError("This dispute has already been escalated once.")
    if dispute.transaction.disputes.filter(status__in=Dispute.ACTIVE).exists():
        raise DisputeError("This transaction already has an open dispute.")
    dispute.level = 2
    dispute.status = Status.UNDER_REVIEW
    dispute.assignee = None
    dispute.closed_at = None
    dispute.save()
    if reason.strip():
        DisputeMessage.objects.create(dispute=dispute, author=user, body=reason.strip())
    _tell_user(dispute, "escalated", "A senior member of staff will review your dispute.")
    return dispute


# --- deadlines (manage.py disputes_deadlines, from cron) ----------------------------------------
# A milestone dispute waiting on the client keeps the milestone's credits reserved: after
# DISPUTES_AWAITING_USER_DAYS unanswered it is closed against them (the milestone accepted in
# full, as a rejection does). Waiting on staff has no silent outcome: staff must act.
DEADLINE_REMINDERS = ((72, "reminded_72h_at"), (24, "reminded_24h_at"))


@dataclass
class DeadlineReport:
    closed: list[int] = field(default_factory=list)
    reminded: int = 0
    # Disputes whose milestone the ledger refused to settle (a frozen wallet): tried next run.
    skipped: dict[int, str] = field(default_factory=dict)


def answer_deadline(dispute: Dispute):
    """When a dispute waiting on the user's answer is closed if still unanswered."""
    return dispute.awaiting_user_since + timedelta(days=settings.DISPUTES_AWAITING_USER_DAYS)


def _awaiting_client():
    return Dispute.objects.filter(
        status=Status.AWAITING_USER,
        milestone__isnull=False,
        transaction__isnull=True,
        awaiting_user_since__isnull=False,
    )


def run_deadlines(*, now=None) -> DeadlineReport:
    """Remind, then close, milestone disputes left unanswered by the client. Safe to run twice
    and beside live traffic: reminders are claimed by a conditional UPDATE, and each dispute is
    re-read under its lock and closed only if it still waits past its deadline."""
    now = now or timezone.now()
    report = DeadlineReport()
    days = timedelta(days=settings.DISPUTES_AWAITING_USER_DAYS)
    _remind_unanswered(now, days, report)
    due = _awaiting_client().filter(awaiting_user_since__lte=now - days)
    for dispute_id in due.order_by("pk").values_list("pk", flat=True):
        try:
            _close_unanswered(dispute_id, now, report)
        except DisputeError as error:
            report.skipped[dispute_id] = error.message
    return report


@transaction.atomic
def _close_unanswered(dispute_id: int, now, report: DeadlineReport) -> None:
    dispute = _locked(Dispute(pk=dispute_id))
    if (
        dispute.status != Status.AWAITING_USER
        or dispute.transaction_id is not None
        or dispute.awaiting_user_since is None
        or answer_deadline(dispute) > now
    ):
        return  # answered, decided or asked again since we looked
    days = settings.DISPUTES_AWAITING_USER_DAYS
    reason = f"The client did not answer within {days} days."
    try:
        milestone = jobs.settle_unanswered_dispute(milestone=dispute.milestone, note=reason)
    except (JobError, CreditError) as error:
        raise DisputeError(error.message) from error
    if milestone is None:
        return
    dispute.transaction = CreditTransaction.objects.get(
        hold_id=milestone.hold_id, kind=Kind.CAPTURE
    )
    dispute.rejection_reason = reason
    dispute.awaiting_user_since = None
    dispute.status = Status.REJECTED
    dispute.closed_at = now
    dispute.save()
    escalation = " You may escalate it once from the dispute page." if dispute.level == 1 else ""
    _tell_user(
        dispute,
        "closed",
        f"{reason} The {milestone.amount:,} credits of {milestone.title} were paid.{escalation}",
    )
    _tell_assignee(dispute, "closed unanswered", reason)
    report.closed.append(dispute_id)


def _remind_unanswered(now, days: timedelta, report: DeadlineReport) -> None:
    # As the jobs' clock: each reminder is due until the next one is, so a late first run sends
    # "24 hours left" alone.
    next_hours = [hours for hours, _ in DEADLINE_REMINDERS[1:]] + [0]
    for (hours, column), until in zip(DEADLINE_REMINDERS, next_hours, strict=True):
        due = _awaiting_client().filter(
            awaiting_user_since__gt=now - days + timedelta(hours=until),
            awaiting_user_since__lte=now - days + timedelta(hours=hours),
            **{f"{column}__isnull": True},
        )
        for dispute in due.select_related("user", "milestone"):
            with transaction.atomic():
                claimed = Dispute.objects.filter(
                    pk=dispute.pk,
                    status=Status.AWAITING_USER,
                    awaiting_user_since=dispute.awaiting_user_since,
                    **{f"{column}__isnull": True},
                ).update(**{column: now})
                if not claimed:
                    continue  # another run reminded first, or the client answered
                deadline = answer_deadline(dispute)
                _tell_user(
                    dispute,
                    f"{hours} hours left to reply",
                    f"Staff are waiting for your answer. Unless you reply by "
                    f"{deadline:%Y-%m-%d %H:%M} UTC, the dispute is closed and the "
                    f"{dispute.milestone.amount:,} credits of {dispute.milestone.title} are paid.",
                )
            report.reminded += 1
