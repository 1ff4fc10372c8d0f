"""The credits ledger: data and database-enforced invariants only.

Every write goes through `credits.services`; the database refuses what would break the ledger
even if some code did not (CHECKs here, append-only triggers in the migrations).
"""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class Wallet(models.Model):
    """An account of the ledger: a user's wallet, or one of the platform's system accounts.

    A user wallet caches `balance` (posted credits) and `held` (reserved by open holds), both
    written under the wallet's row lock. System accounts never have their row updated: their
    balances are the sum of their entries, so they are never a hot spot.
    """

    class Kind(models.TextChoices):
        USER = "user", "User wallet"
        SYSTEM = "system", "System account"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        FROZEN = "frozen", "Frozen (may receive, may not spend)"
        SUSPENDED = "suspended", "Suspended (nothing moves)"

    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.USER)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="wallet",
        null=True,
        blank=True,
    )
    system_code = models.CharField(max_length=32, unique=True, null=True, blank=True)
    balance = models.BigIntegerField(default=0)
    held = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    # The owner's low-balance thresholds and where the balance stands against each (see
    # credits.services.alerts); null when there are none. On the wallet row, which every
    # posting locks and writes anyway, so crossings are found without another read.
    alerts = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(held__gte=0) & Q(held__lte=F("balance")),
                name="credits_wallet_held_within_balance",
            ),
            models.CheckConstraint(
                condition=(Q(kind="user") & Q(user__isnull=False) & Q(system_code__isnull=True))
                | (Q(kind="system") & Q(user__isnull=True) & Q(system_code__isnull=False)),
                name="credits_wallet_owner_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.SYSTEM:
            return f"system:{self.system_code}"
        return f"wallet of {self.user}"

    @property
    def available(self) -> int:
        return self.balance - self.held


class WalletStatusChange(models.Model):
    """Who froze, unfroze or suspended a wallet, when and why."""

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=10, choices=Wallet.Status.choices)
    to_status = models.CharField(max_length=10, choices=Wallet.Status.choices)
    reason = models.TextField()
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.from_status} → {self.to_status} by {self.actor_label}"


class IdempotencyRecord(models.Model):
    """The first request made under a caller's key, and how it ended: the one record of a key,
    for the ledger and the API alike.

    Claimed before any other write, so concurrent requests with one key serialize on the unique
    index. A refusal (insufficient credits, frozen wallet) is kept so a retry is refused the
    same way; a success is the transaction pointing here. A request that came through the API
    also keeps, in the same database transaction as its work, what the API answered (status and
    the body as sent, replayed byte for byte) and its request's fingerprint (method, path, body).
    """

    scope = models.CharField(max_length=64)
    key = models.CharField(max_length=255)
    operation = models.CharField(max_length=32)
    fingerprint = models.CharField(max_length=64)
    refusal_code = models.CharField(max_length=64, blank=True)
    refusal_message = models.TextField(blank=True)
    request_fingerprint = models.CharField(max_length=64, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="credits_idempotency_unique_key")
        ]
        # No index on created_at: every spend writes a record, and `idempotency_prune` (daily)
        # scans once, then works by id.

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class CreditTransaction(models.Model):
    """A journal entry: what happened, to which wallet, asked by whom. Never updated or deleted.

    Its `Entry` legs sum to zero. Holds and releases move no posted credits, so they have no
    legs: they are recorded for the audit trail and change only `held` and grant remainders.
    """

    class Kind(models.TextChoices):
        GRANT = "grant", "Grant"
        SPEND = "spend", "Spend"
        HOLD = "hold", "Hold"
        CAPTURE = "capture", "Capture"
        RELEASE = "release", "Release"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment"
        TRANSFER = "transfer", "Transfer"
        EXPIRY = "expiry", "Expiry"
        REVOCATION = "revocation", "Revocation"

    class ActorKind(models.TextChoices):
        USER = "user", "User"
        STAFF = "staff", "Staff"
        APP = "app", "Partner app"
        SYSTEM = "system", "System"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    # Indexes here are few and chosen: every spend inserts a row (see Meta.indexes).
    wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="transactions", db_index=False
    )
    amount = models.BigIntegerField()
    description = models.CharField(max_length=255, blank=True)
    reference = models.CharField(max_length=255, blank=True)
    reference_type = models.ForeignKey(
        ContentType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    reference_id = models.CharField(max_length=64, blank=True)
    reference_object = GenericForeignKey("reference_type", "reference_id")
    metadata = models.JSONField(default=dict, blank=True)
    actor_kind = models.CharField(max_length=10, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    actor_app_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=100)
    idempotency_record = models.OneToOneField(
        IdempotencyRecord,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="credit_transaction",
    )
    reverses = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversals",
        db_index=False,
    )
    hold = models.ForeignKey(
        "Hold",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="transactions",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credits_transaction_positive")
        ]
        indexes = [
            models.Index(fields=["wallet", "-id"], name="credits_txn_wallet_recent"),
            # Partial indexes: most transactions have no reversal, hold or referenced object.
            models.Index(
                fields=["wallet", "created_at"],
                condition=Q(kind="transfer"),
                name="credits_txn_transfers",
            ),
            models.Index(
                fields=["reverses"],
                condition=Q(reverses__isnull=False),
                name="credits_txn_reverses",
            ),
            models.Index(fields=["hold"], condition=Q(hold__isnull=False), name="credits_txn_hold"),
            models.Index(
                fields=["reference_type", "reference_id"],
                condition=Q(reference_type__isnull=False),
                name="credits_txn_reference",
            ),
            # What a partner app charged a wallet lately: its spending cap, read on every
            # charge it makes, and its usage figures.
            models.Index(
                fields=["actor_app_id", "wallet", "created_at"],
                condition=Q(actor_app_id__isnull=False),
                name="credits_txn_app",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} #{self.pk}"

    @property
    def own_reference(self) -> str:
        """The reference a caller wrote (an API client's job id), shown to the wallet's owner. A
        reference CreditDesk wrote itself beside the object it points to (a Stripe checkout's
        id, a dispute's number) is for staff pages: the description already says it in words."""
        return "" if self.reference_type_id else self.reference


class Entry(models.Model):
    """One leg of a transaction: a signed amount on one account. Never updated or deleted.

    A leg on a user wallet stores the wallet's balance after it (written under the wallet's
    lock), so statements need no running sums. System-account legs leave it empty.
    """

    transaction = models.ForeignKey(
        CreditTransaction, on_delete=models.PROTECT, related_name="entries"
    )
    # No database foreign key: its check would take a share lock on the system account's row
    # for every posting, making that row the hot spot the design keeps it from being. Wallets
    # cannot be deleted (a trigger refuses it) and credits_reconcile checks every leg's wallet.
    # Indexed by the (wallet, -id) index below.
    wallet = models.ForeignKey(
        Wallet,
        on_delete=models.PROTECT,
        related_name="entries",
        db_index=False,
        db_constraint=False,
    )
    amount = models.BigIntegerField()
    balance_after = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "entries"
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="credits_entry_nonzero"),
        ]
        indexes = [
            models.Index(fields=["wallet", "-id"], name="credits_entry_wallet_recent"),
            models.Index(fields=["wallet", "created_at"], name="credits_entry_wallet_time"),
        ]

    def __str__(self) -> str:
        return f"{self.amount:+d} on {self.wallet} (transaction #{self.transaction_id})"


class CreditGrant(models.Model):
    """A block of credits in a wallet: where they came from, how many remain, when they expire.

    Every credit in a wallet belongs to a grant. `remaining` excludes credits earmarked by open
    holds, so balance = Σ remaining + held.
    """

    class Source(models.TextChoices):
        PURCHASE = "purchase", "Purchase"
        SUBSCRIPTION = "subscription", "Subscription"
        PROMOTION = "promotion", "Promotion"
        ADMIN = "admin", "Staff grant"
        REFUND = "refund", "Refund"
        TRANSFER = "transfer", "Transfer"

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="grants")
    source = models.CharField(max_length=16, choices=Source.choices)
    amount = models.BigIntegerField()
    remaining = models.BigIntegerField()
    expired_amount = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(default=50)
    is_promotional = models.BooleanField(default=False)
    cost_basis = models.DecimalField(max_digits=18, decimal_places=8, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    transaction = models.ForeignKey(
        CreditTransaction, on_delete=models.PROTECT, related_name="created_grants"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # The last expiry warning its owner was sent (credits.services.expiry_warnings): 7 days
    # before, then 1; null before the first.
    warned_days = models.PositiveSmallIntegerField(null=True, blank=True, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(remaining__gte=0) & Q(remaining__lte=F("amount")),
                name="credits_grant_remaining_within_amount",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="credits_grant_positive"),
        ]
        indexes = [
            # The burn-down scan reads only grants with something left.
            models.Index(
                fields=["wallet", "priority", "expires_at"],
                condition=Q(remaining__gt=0),
                name="credits_grant_spendable",
            ),
            models.Index(
                fields=["expires_at"], condition=Q(remaining__gt=0), name="credits_grant_due"
            ),
        ]

    def __str__(self) -> str:
        kind = "promotional" if self.is_promotional else "paid"
        return (
            f"{self.get_source_display()} grant #{self.pk}: {self.remaining}/{self.amount} {kind}"
        )

    @property
    def kind_label(self) -> str:
        return "Promotional" if self.is_promotional else "Paid"


class Allocation(models.Model):
    """How much of one grant a transaction used or gave back. Never updated or deleted.

    By the transaction's kind: spend, adjustment, transfer, expiry, revocation and hold take
    `amount` from the grant's remainder (a hold earmarks it); capture consumes earmarked
    credits; release and refund give `amount` back to the grant.
    """

    transaction = models.ForeignKey(
        CreditTransaction, on_delete=models.PROTECT, related_name="allocations"
    )
    grant = models.ForeignKey(CreditGrant, on_delete=models.PROTECT, related_name="allocations")
    amount = models.BigIntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credits_allocation_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} of grant #{self.grant_id} by transaction #{self.transaction_id}"


class Hold(models.Model):
    """Credits reserved for work in progress: captured (in parts or at once) or released."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CAPTURED = "captured", "Captured"
        RELEASED = "released", "Released"
        EXPIRED = "expired", "Expired"

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="holds")
    amount = models.BigIntegerField()
    captured_amount = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    description = models.CharField(max_length=255, blank=True)
    reference = models.CharField(max_length=255, blank=True)
    # The caller's own notes, as given (credits.services.rules.check_metadata limits them).
    metadata = models.JSONField(default=dict, blank=True)
    # NULL: the hold has no clock of its own and only a capture or a release settles it (a job
    # milestone's, placed `until_settled`, or a disputed payment's); the expiry sweep skips it.
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0)
                & Q(captured_amount__gte=0)
                & Q(captured_amount__lte=F("amount")),
                name="credits_hold_captured_within_amount",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"], condition=Q(status="open"), name="credits_hold_open_due"
            ),
        ]

    def __str__(self) -> str:
        return f"Hold #{self.pk}: {self.amount} ({self.get_status_display()})"

    @property
    def uncaptured(self) -> int:
        return self.amount - self.captured_amount


class ApprovalRequest(models.Model):
    """A staff grant or deduction beyond one person's authority (maker-checker).

    Above `CREDITS_STAFF_APPROVAL_ABOVE` credits, or beyond the maker's daily limit, the
    operation is recorded here and posts only when a second member of staff with the
    `decide_approvalrequest` permission approves it, before `expires_at`. Decided once: the
    database refuses a decision by the maker and a pending row with a decision.
    """

    class Operation(models.TextChoices):
        GRANT = "grant", "Grant"
        DEDUCT = "deduct", "Deduct"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPROVED = "approved", "Approved and posted"
        REFUSED = "refused", "Refused"
        EXPIRED = "expired", "Expired"

    operation = models.CharField(max_length=10, choices=Operation.choices)
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="approval_requests")
    amount = models.BigIntegerField()
    reason = models.CharField(max_length=255)
    # A grant's terms (a deduction has none).
    is_promotional = models.BooleanField(default=True)
    grant_expires_at = models.DateTimeField(null=True, blank=True)
    priority = models.PositiveSmallIntegerField(default=50)
    why_approval = models.CharField("why it needs approval", max_length=255)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    idempotency_key = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    transaction = models.OneToOneField(
        CreditTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [
            (
                "decide_approvalrequest",
                "Can approve or refuse other staff members' large grants and deductions",
            )
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="credits_approval_positive"),
            models.CheckConstraint(
                condition=~Q(decided_by=F("requested_by")),
                name="credits_approval_four_eyes",
                violation_error_message="The staff member who asked cannot decide.",
            ),
            models.CheckConstraint(
                condition=(Q(status="pending") & Q(decided_at__isnull=True))
                | (Q(status="expired") & Q(decided_by__isnull=True))
                | (
                    Q(status__in=["approved", "refused"])
                    & Q(decided_by__isnull=False)
                    & Q(decided_at__isnull=False)
                ),
                name="credits_approval_decided_once",
            ),
            models.CheckConstraint(
                condition=(Q(status="approved") & Q(transaction__isnull=False))
                | (~Q(status="approved") & Q(transaction__isnull=True)),
                name="credits_approval_posted",
            ),
            models.UniqueConstraint(
                fields=["requested_by", "idempotency_key"], name="credits_approval_unique_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_operation_display()} of {self.amount} credits (request #{self.pk})"

    def is_open(self, now=None) -> bool:
        """Pending and not yet past its deadline."""
        return self.status == self.Status.PENDING and (now or timezone.now()) < self.expires_at


class StaffAction(models.Model):
    """The audit trail of staff powers: who did what to whose credits, when and why.

    Written in the same database transaction as the act, by the services; append-only (the
    database refuses updates and deletes).
    """

    class Kind(models.TextChoices):
        GRANT = "grant", "Granted credits"
        DEDUCT = "deduct", "Deducted credits"
        APPROVAL_REQUESTED = "approval_requested", "Asked a colleague to approve"
        APPROVED = "approved", "Approved a colleague's request"
        REFUSED = "refused", "Refused a colleague's request"
        FREEZE = "freeze", "Froze a wallet"
        UNFREEZE = "unfreeze", "Unfroze a wallet"
        SUSPEND = "suspend", "Suspended a wallet"
        REACTIVATE = "reactivate", "Reactivated a wallet"
        DISPUTE_REFUND = "dispute_refund", "Resolved a dispute with a refund"
        DISPUTE_REJECTED = "dispute_rejected", "Rejected a dispute"
        PURCHASE_REFUND = "purchase_refund", "Refunded a purchase through Stripe"
        DISPUTE_ASSIGNED = "dispute_assigned", "Assigned a dispute"
        INFORMATION_REQUESTED = "information_requested", "Asked a user for information"
        PROMOTION_CHANGED = "promotion_changed", "Set up or changed a promo code"
        PACKAGE_CHANGED = "package_changed", "Set up or changed a credit package"
        DEACTIVATE = "deactivate", "Deactivated an account"

    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="staff_actions"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, null=True, blank=True, related_name="staff_actions"
    )
    amount = models.BigIntegerField(null=True, blank=True)
    reason = models.TextField(blank=True)
    transaction = models.ForeignKey(
        CreditTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approval = models.ForeignKey(
        ApprovalRequest, on_delete=models.PROTECT, null=True, blank=True, related_name="actions"
    )
    reference_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reference_id = models.CharField(max_length=64, blank=True)
    reference_object = GenericForeignKey("reference_type", "reference_id")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["staff", "created_at"], name="credits_staffaction_staff")]

    def __str__(self) -> str:
        return f"{self.staff} {self.get_kind_display().lower()}"
