"""Jobs: work a user (the client) commissions and pays for in credits, milestone by milestone.

A job's budget is the sum of its milestones' amounts. Submitting a draft reserves each milestone's
amount with its own ledger hold; accepting a milestone captures its hold (all of it, or part with
the rest released); cancelling releases it. What a job has been paid, reserved or given back is
read from those holds, never kept here as a counter (jobs.selectors). Rules live in
jobs.services; these models only say what is stored.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Job(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    class Priority(models.TextChoices):
        LOW = "low", "Low"
        NORMAL = "normal", "Normal"
        HIGH = "high", "High"
        URGENT = "urgent", "Urgent"

    class Category(models.TextChoices):
        DESIGN = "design", "Design"
        DEVELOPMENT = "development", "Development"
        WRITING = "writing", "Writing"
        MARKETING = "marketing", "Marketing"
        VIDEO = "video", "Video and animation"
        DATA = "data", "Data and analysis"
        OTHER = "other", "Other"

    LIVE = (Status.OPEN, Status.IN_PROGRESS)
    CLOSED = (Status.COMPLETED, Status.CANCELLED)

    client = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="jobs"
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="assigned_jobs",
        help_text="The staff member delivering the job.",
    )
    # Basic info
    title = models.CharField(max_length=200)
    summary = models.TextField(blank=True)
    category = models.CharField(max_length=20, choices=Category.choices, default=Category.OTHER)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.NORMAL)
    # Business info
    company = models.CharField(max_length=200, blank=True)
    industry = models.CharField(max_length=200, blank=True)
    audience = models.CharField(max_length=500, blank=True)
    website = models.URLField(max_length=500, blank=True)
    # Project details
    scope = models.TextField(blank=True)
    requirements = models.TextField(blank=True)
    deliverables = models.TextField(blank=True, help_text="The deliverables expected.")
    # Branding & design
    colours = models.CharField(max_length=500, blank=True)
    fonts = models.CharField(max_length=500, blank=True)
    style_notes = models.TextField(blank=True)
    references = models.TextField(blank=True)
    # Financial: the sum of the milestones' amounts (jobs.services keeps it so; the database
    # checks it on PostgreSQL at commit, migration 0002).
    budget = models.PositiveIntegerField(default=0)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("deliver", "Can work on and deliver jobs")]
        indexes = [
            models.Index(fields=["client", "-created_at"], name="jobs_by_client"),
            models.Index(fields=["status", "priority", "submitted_at"], name="jobs_queue"),
        ]

    def __str__(self) -> str:
        return f"Job #{self.pk}: {self.title}"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE


class Milestone(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        FUNDED = "funded", "Funded"
        SUBMITTED = "submitted", "Delivered, in review"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"
        ACCEPTED = "accepted", "Accepted"
        ACCEPTED_IN_PART = "accepted_in_part", "Accepted in part"
        CANCELLED = "cancelled", "Cancelled"
        DISPUTED = "disputed", "Disputed"

    # Waiting for the team to deliver (or deliver again).
    TO_DELIVER = (Status.FUNDED, Status.CHANGES_REQUESTED)
    FINAL = (Status.ACCEPTED, Status.ACCEPTED_IN_PART, Status.CANCELLED)

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="milestones")
    position = models.PositiveSmallIntegerField(default=1)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    due_date = models.DateField()
    amount = models.PositiveIntegerField(help_text="Credits paid when it is accepted.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PLANNED)
    # The ledger hold reserving `amount` from the client's wallet once the job is submitted.
    hold = models.OneToOneField(
        "credits.Hold", on_delete=models.PROTECT, null=True, blank=True, related_name="milestone"
    )
    # When the current delivery's review window ends (then it is accepted automatically).
    review_ends_at = models.DateTimeField(null=True, blank=True)
    changes_requested_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["job", "position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="jobs_milestone_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(status="submitted", review_ends_at__isnull=False)
                | ~Q(status="submitted"),
                name="jobs_milestone_review_has_an_end",
            ),
            models.CheckConstraint(
                condition=Q(status="planned") | Q(hold__isnull=False),
                name="jobs_milestone_funded_has_a_hold",
            ),
        ]
        indexes = [
            models.Index(
                fields=["review_ends_at"],
                condition=Q(status="submitted"),
                name="jobs_milestone_review_due",
            ),
            models.Index(
                fields=["due_date"],
                condition=Q(status__in=["funded", "changes_requested"]),
                name="jobs_milestone_delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"Milestone #{self.pk}: {self.title}"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


class Delivery(models.Model):
    """One delivery of a milestone by the team: a message and at least one file or link."""

    milestone = models.ForeignKey(Milestone, on_delete=models.CASCADE, related_name="deliveries")
    number = models.PositiveSmallIntegerField()
    message = models.TextField()
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    delivered_at = models.DateTimeField(default=timezone.now)
    # Reminders of the review window's end, each sent once (claimed by a conditional UPDATE).
    reminded_72h_at = models.DateTimeField(null=True, blank=True)
    reminded_24h_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["milestone", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["milestone", "number"], name="jobs_delivery_number_unique"
            )
        ]

    def __str__(self) -> str:
        return f"Delivery {self.number} of milestone #{self.milestone_id}"


class Link(models.Model):
    """A resource or link of a job (http or https only), or part of a delivery."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="links")
    delivery = models.ForeignKey(
        Delivery, on_delete=models.CASCADE, null=True, blank=True, related_name="links"
    )
    label = models.CharField(max_length=200)
    url = models.URLField(max_length=2000)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.label


class Folder(models.Model):
    """A folder of a job's files; folders nest."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="folders")
    # RESTRICT, not PROTECT: a folder with subfolders or files is never deleted alone
    # (jobs.services.files deletes empty ones only), yet deleting its job takes them all.
    parent = models.ForeignKey(
        "self", on_delete=models.RESTRICT, null=True, blank=True, related_name="children"
    )
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["job", "parent", "name"],
                name="jobs_folder_name_unique",
                violation_error_message="A folder of that name is already here.",
            ),
            # At the top (no parent), where NULLs would otherwise never clash.
            models.UniqueConstraint(
                fields=["job", "name"],
                condition=Q(parent__isnull=True),
                name="jobs_top_folder_name_unique",
                violation_error_message="A folder of that name is already here.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


def stored_name(instance: "File", filename: str) -> str:
    """Where a file's bytes go in storage: the job's folder, under a name of jobs.files's making
    (never the uploader's), so two uploads of one name never collide."""
    return f"jobs/{instance.job_id}/{filename}"


class File(models.Model):
    """An uploaded file of a job (an asset, or part of a delivery). Its bytes are in
    STORAGES["default"] and only ever served by the download view, to people who may see the
    job."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="files")
    folder = models.ForeignKey(
        Folder, on_delete=models.RESTRICT, null=True, blank=True, related_name="files"
    )
    delivery = models.ForeignKey(
        Delivery, on_delete=models.SET_NULL, null=True, blank=True, related_name="files"
    )
    name = models.CharField(max_length=255, help_text="The sanitised name shown and downloaded.")
    content = models.FileField(upload_to=stored_name, max_length=500)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100, help_text="As sniffed from the bytes.")
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]
        indexes = [models.Index(fields=["job", "folder"], name="jobs_files_by_folder")]

    def __str__(self) -> str:
        return self.name


class Activity(models.Model):
    """The job's log: who did what and when. Staff read it when a dispute comes."""

    class Verb(models.TextChoices):
        CREATED = "created", "created the job"
        EDITED = "edited", "edited the draft"
        SUBMITTED = "submitted", "submitted the job and reserved its budget"
        ASSIGNED = "assigned", "assigned the job"
        DELIVERED = "delivered", "delivered the milestone"
        CHANGES_REQUESTED = "changes_requested", "requested changes"
        ACCEPTED = "accepted", "accepted the milestone"
        ACCEPTED_IN_PART = "accepted_in_part", "accepted the milestone in part"
        AUTO_ACCEPTED = "auto_accepted", "accepted the milestone automatically"
        REMINDED = "reminded", "reminded the client of the review's end"
        CANCELLED = "cancelled", "cancelled the milestone"
        LAPSED = "lapsed", "cancelled the undelivered milestone after its deadline"
        DISPUTED = "disputed", "disputed the milestone"
        DISPUTE_SETTLED = "dispute_settled", "settled the milestone's dispute"
        FORCE_ACCEPTED = "force_accepted", "accepted the milestone (staff override)"
        FORCE_RELEASED = "force_released", "released the milestone's credits (staff override)"
        COMPLETED = "completed", "completed the job"
        JOB_CANCELLED = "job_cancelled", "cancelled the job"
        FILE_ADDED = "file_added", "added a file"
        FILE_REMOVED = "file_removed", "removed a file"
        LINK_ADDED = "link_added", "added a link"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="activity")
    milestone = models.ForeignKey(
        Milestone, on_delete=models.CASCADE, null=True, blank=True, related_name="activity"
    )
    # Nobody for the system (the review clock, the delivery deadline).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    verb = models.CharField(max_length=20, choices=Verb.choices)
    reason = models.TextField(blank=True)
    # Figures of the step (credits captured, released), for the log's reader.
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "activity"
        indexes = [models.Index(fields=["job", "-created_at"], name="jobs_activity_by_job")]

    def __str__(self) -> str:
        who = self.actor.get_username() if self.actor_id else "CreditDesk"
        return f"{who} {self.get_verb_display()}"
