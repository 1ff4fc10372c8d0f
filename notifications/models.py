"""What a user turned off, and every e-mail the channel decided to send."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from notifications.kinds import Kind


class NotificationOptOut(models.Model):
    """A kind of e-mail the user does not want (no row: they get it)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_opt_outs"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="notifications_one_opt_out"),
        ]

    def __str__(self) -> str:
        return f"{self.user} turned off {self.kind}"


class SentNotice(models.Model):
    """One e-mail of one event to one person: unique, so a redispatch never mails twice.
    `sent_at` stays empty until the mail server took it (a failed send is visible here and
    retried by `notices_retry`)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sent_notices"
    )
    # Kept when old events are pruned: the history outlives the outbox.
    event = models.ForeignKey(
        "events.Event", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    subject = models.CharField(max_length=300)
    to = models.EmailField()
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    # A sender's claim: until then no other sender (the task, notices_retry) takes the notice.
    # A sender that dies mid-send lets its claim lapse, and the notice is retried.
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "user"], name="notifications_once_per_event"),
        ]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notices_user_time"),
            models.Index(
                fields=["id"], condition=models.Q(sent_at__isnull=True), name="notices_unsent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} to {self.to}"

    @property
    def status(self) -> str:
        if self.sent_at:
            return "Sent"
        return "Not sent yet: we will try again" if self.last_error else "Sending"
