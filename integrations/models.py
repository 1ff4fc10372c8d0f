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
