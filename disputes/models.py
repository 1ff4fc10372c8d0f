"""Disputes on transactions and on jobs' delivered milestones: the workflow's state and its
thread of messages."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Dispute(models.Model):
    """A user's challenge of one of their own transactions (a spend, capture, adjustment or
    expiry), or of a delivered milestone of their own job instead of accepting it, until staff
    resolve it (a refund; for a milestone, credits given back instead of paid) or reject it.

    A milestone dispute names no transaction until its rejection pays the milestone: the
    capture then becomes its `transaction`, so an escalation is an ordinary transaction dispute
    (disputes.services says how each step maps onto the milestone's outcomes).
    """

    class Reason(models.TextChoices):
        NOT_RECOGNISED = "not_recognised", "I do not recognise this charge"
        NOT_DELIVERED = "not_delivered", "The work or service was not delivered"
        POOR_QUALITY = "poor_quality", "The result was not as described"
        DUPLICATE = "duplicate", "I was charged twice"
        WRONG_AMOUNT = "wrong_amount", "The amount is wrong"
        EXPIRED_UNFAIRLY = "expired_unfairly", "My credits expired unfairly"
        OTHER = "other", "Something else"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        UNDER_REVIEW = "under_review", "Under review"
        # Staff's and partner apps' wording; the user reads "Waiting for your reply"
        # (disputes/templatetags/disputes.py, status_for_owner).
        AWAITING_USER = "awaiting_user", "Waiting for the user"
        RESOLVED = "resolved", "Resolved"
        REJECTED = "rejected", "Rejected"

    ACTIVE = (Status.OPEN, Status.UNDER_REVIEW, Status.AWAITING_USER)

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="disputes"
    )
    transaction = models.ForeignKey(
        "credits.CreditTransaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disputes",
    )
    milestone = models.ForeignKey(
        "jobs.Milestone",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disputes",
    )
    reason = models.CharField(max_length=20, choices=Reason.choices)
    description = models.TextField()
    amount = models.PositiveIntegerField(help_text="Credits the user asks back.")
    status = models.CharField(max_length=14, choices=Status.choices, default=Status.OPEN)
    level = models.PositiveSmallIntegerField(default=1, help_text="2 after an escalation.")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_disputes",
    )
    refund = models.ForeignKey(
        "credits.CreditTransaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    rejection_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    first_response_at = models.DateTimeField(null=True, blank=True)
    # While staff wait on the user's answer: since when, and the reminders sent (each once per
    # question; disputes.services.run_deadlines closes a milestone dispute left unanswered).
    awaiting_user_since = models.DateTimeField(null=True, blank=True)
    reminded_72h_at = models.DateTimeField(null=True, blank=True)
    reminded_24h_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("handle_escalated", "Can resolve or reject escalated (level 2) disputes")]
        constraints = [
            models.UniqueConstraint(
                fields=["transaction"],
                condition=Q(status__in=["open", "under_review", "awaiting_user"]),
                name="disputes_one_active_per_transaction",
                violation_error_message="This transaction already has an open dispute.",
            ),
            models.UniqueConstraint(
                fields=["milestone"],
                condition=Q(status__in=["open", "under_review", "awaiting_user"]),
                name="disputes_one_active_per_milestone",
                violation_error_message="This milestone already has an open dispute.",
            ),
            # One subject: a transaction, or a milestone. A milestone dispute takes on its
            # capture only once rejected (the milestone paid), never while its first review runs.
            models.CheckConstraint(
                condition=Q(transaction__isnull=False, milestone__isnull=True)
                | Q(transaction__isnull=True, milestone__isnull=False)
                | (Q(milestone__isnull=False) & (Q(status="rejected") | Q(level=2))),
                name="disputes_one_subject",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="disputes_amount_positive"),
            models.CheckConstraint(condition=Q(level__in=[1, 2]), name="disputes_level_1_or_2"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="disputes_by_user"),
            models.Index(fields=["status", "created_at"], name="disputes_queue"),
        ]

    def __str__(self) -> str:
        if self.milestone_id:
            return f"Dispute #{self.pk} on milestone #{self.milestone_id}"
        return f"Dispute #{self.pk} on transaction #{self.transaction_id}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def refunded_amount(self) -> int:
        """Credits the dispute won back: its refund; for a milestone it settled, what the
        milestone's hold gave back instead of paying (read from the ledger's hold)."""
        if self.refund_id:
            return self.refund.amount
        if self.status == self.Status.RESOLVED and self.milestone_id and not self.transaction_id:
            hold = self.milestone.hold
            return hold.amount - hold.captured_amount
        return 0


class DisputeMessage(models.Model):
    """One message of a dispute's thread; internal notes are for staff only."""

    dispute = models.ForeignKey(Dispute, on_delete=models.PROTECT, related_name="messages")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.TextField()
    internal = models.BooleanField(default=False, help_text="A staff note the user never sees.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Message #{self.pk} on dispute #{self.dispute_id}"
