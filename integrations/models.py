"""Partner apps, their credentials (API keys; OAuth tokens are django-oauth-toolkit's), users'
consents with a spending cap, and per-day usage. The API's stored responses that once lived here
are kept on the ledger's own idempotency record (credits.IdempotencyRecord)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from oauth2_provider.models import AbstractApplication


class PartnerApp(AbstractApplication):
    """Another product of the platform, acting for users who consented, or as itself with keys.

    It is django-oauth-toolkit's Application (OAUTH2_PROVIDER_APPLICATION_MODEL): `user` is the
    developer who owns it, `redirect_uris` are matched exactly, `client_id`/`client_secret` are
    its OAuth credentials. Status: pending → approved ⇄ suspended, or revoked (final); every
    change is an AppStatusChange (integrations.services.apps).
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved"
        SUSPENDED = "suspended", "Suspended"
        REVOKED = "revoked", "Revoked"

    description = models.TextField(blank=True)
    homepage = models.URLField()
    logo = models.FileField(upload_to="partner-logos/", blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Space-separated, from integrations.scopes.SCOPES: what staff allow the app to ask for.
    allowed_scopes = models.CharField(max_length=255, default="openid")
    # The spending cap (credits per 30 days) the consent page proposes; a user may lower it.
    proposed_cap = models.PositiveIntegerField(default=1_000)
    # Requests per minute; empty: INTEGRATIONS_DEFAULT_RATE_PER_MINUTE.
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    # Only apps staff allow may introspect tokens (they are resource servers of ours).
    may_introspect = models.BooleanField(default=False)

    class Meta(AbstractApplication.Meta):
        verbose_name = "partner app"
        ordering = ["name", "id"]
        # Staff powers beyond editing an app's details (integrations/admin.py).
        permissions = [
            ("review_partnerapp", "Can approve, suspend, reactivate or revoke partner apps"),
            ("release_holds_partnerapp", "Can release every open hold a partner app placed"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "approved", "suspended", "revoked"]),
                name="integrations_app_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(proposed_cap__gt=0), name="integrations_app_cap_positive"
            ),
        ]

    def __str__(self) -> str:
        return self.name or self.client_id


class AppStatusChange(models.Model):
    """Who changed an app's status, when and why. Written with the change; never edited."""

    app = models.ForeignKey(PartnerApp, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    reason = models.CharField(max_length=500)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_status or 'new'} → {self.to_status}: {self.reason}"


class AppKey(models.Model):
    """A server-to-server key: `cdk_<env>_<prefix>_<secret>`. Only the prefix (which finds the
    row) and a SHA-256 of the secret are kept; the key is shown once. A rotated key keeps
    working until `expires_at` (the overlap); a revoked one stops at once."""

    app = models.ForeignKey(PartnerApp, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # The key that replaced this one in a rotation.
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replaces"
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class Consent(models.Model):
    """A user's yes to an app: the scopes it may use for them and the most it may charge them
    per 30 days (holds it keeps open count, so do spends and captures). A wider scope or a
    higher cap is a new consent; revoking ends the app's tokens for the user at once."""

    app = models.ForeignKey(PartnerApp, on_delete=models.CASCADE, related_name="consents")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="app_consents"
    )
    scopes = models.CharField(max_length=255)
    cap = models.PositiveIntegerField("spending cap (credits per 30 days)")
    granted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-granted_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["app", "user"],
                condition=Q(revoked_at__isnull=True),
                name="integrations_consent_one_live",
            ),
            models.CheckConstraint(condition=Q(cap__gt=0), name="integrations_consent_cap"),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.app} (cap {self.cap})"


class AppUsageDay(models.Model):
    """Requests an app made on one UTC day, and how many failed, by class. Counted as they
    happen (one upsert per call); the credits it moved come from the ledger, not from here."""

    app = models.ForeignKey(PartnerApp, on_delete=models.CASCADE, related_name="usage_days")
    day = models.DateField()
    requests = models.PositiveIntegerField(default=0)
    client_errors = models.PositiveIntegerField(default=0)
    server_errors = models.PositiveIntegerField(default=0)
    rate_limited = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["app", "day"], name="integrations_usage_one_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.app} on {self.day}: {self.requests} requests"


class AppUserDay(models.Model):
    """A user an app called for on a day: the day's active users are the count of these."""

    app = models.ForeignKey(PartnerApp, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["app", "day", "user"], name="integrations_user_day_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} used {self.app} on {self.day}"


class WebhookEndpoint(models.Model):
    """Where an app wants events sent (integrations.services.webhooks), signed per Standard
    Webhooks with `secret`. The secret is kept as is: it is a signing key, not a password, and
    signing needs it. After a rotation the previous secret signs too, until
    `previous_secret_expires_at`, so the app can deploy the new one first."""

    class Status(models.TextChoices):
        ENABLED = "enabled", "Enabled"
        DISABLED = "disabled", "Disabled"

    app = models.ForeignKey(PartnerApp, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField("URL", max_length=500)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=80, unique=True)
    previous_secret = models.CharField(max_length=80, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ENABLED)
    disabled_reason = models.CharField(max_length=200, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    # The first failed attempt since the last success: failing for 5 days disables the endpoint.
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "webhook endpoint"
        ordering = ["app", "-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["enabled", "disabled"]),
                name="integrations_webhook_status_valid",
            )
        ]

    def __str__(self) -> str:
        return self.url

    def event_types(self) -> list[str]:
        return sorted(self.subscriptions.values_list("event_type", flat=True))


class WebhookSubscription(models.Model):
    """One event type an endpoint wants. `app_id` and `enabled` copy the endpoint's (kept in step
    by the services) so the outbox's audience is one indexed EXISTS on this table."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="subscriptions"
    )
    event_type = models.CharField(max_length=64)
    app = models.ForeignKey(PartnerApp, on_delete=models.CASCADE, related_name="+")
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "event_type"], name="integrations_subscription_unique"
            )
        ]
        indexes = [
            models.Index(
                fields=["event_type", "app"],
                condition=Q(enabled=True),
                name="integrations_sub_audience",
            )
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id}"


class WebhookDelivery(models.Model):
    """One event sent (or to be sent) to one endpoint: attempted until delivered, or until the
    retry schedule ends (abandoned). A resend is a new delivery of the same event."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed, will retry"
        ABANDONED = "abandoned", "Abandoned"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey("events.Event", on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "delivered", "failed", "abandoned"]),
                name="integrations_delivery_status_valid",
            )
        ]
        indexes = [
            # The sweep's queue: only deliveries still to attempt.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status__in=["pending", "failed"]),
                name="integrations_delivery_due",
            ),
            models.Index(fields=["endpoint", "-created_at"], name="integrations_delivery_log"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id}: {self.status}"


class WebhookAttempt(models.Model):
    """One request of a delivery: its answer (status code, or the error), latency and the
    first kilobyte of the response."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    latency_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=1024, blank=True)

    class Meta:
        verbose_name = "webhook attempt"
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S}: {self.status_code or self.error}"
