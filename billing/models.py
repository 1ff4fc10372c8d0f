"""Billing: what can be bought (packages, promotions) and what was (purchases, subscriptions).

Credits themselves live in the ledger (`credits`); these rows say why they were granted, and the
ledger's transactions point back here through their reference.
"""

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

CURRENCIES = [
    ("usd", "USD"), ("eur", "EUR"), ("gbp", "GBP"), ("chf", "CHF"), ("cad", "CAD"),
    ("aud", "AUD"), ("sek", "SEK"), ("nok", "NOK"), ("dkk", "DKK"), ("jpy", "JPY"),
]  # fmt: skip


class CreditPackage(models.Model):
    """A one-off pack of credits, or a subscription plan granting credits every period."""

    class Kind(models.TextChoices):
        PACK = "pack", "Credit pack"
        PLAN = "plan", "Subscription plan"

    class Interval(models.TextChoices):
        MONTH = "month", "Monthly"
        YEAR = "year", "Yearly"

    class Rollover(models.TextChoices):
        NONE = "none", "Unused credits expire at the period's end"
        CAPPED = "capped", "Unused credits roll over, up to a cap"
        ALL = "all", "All unused credits roll over"

    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.PACK)
    credits = models.PositiveIntegerField(help_text="Credits in the pack, or per period of a plan.")
    price = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3, choices=CURRENCIES, default="usd")
    interval = models.CharField(
        max_length=5, choices=Interval.choices, blank=True, help_text="Plans only."
    )
    rollover = models.CharField(
        max_length=6, choices=Rollover.choices, default=Rollover.NONE, help_text="Plans only."
    )
    rollover_cap = models.PositiveIntegerField(
        null=True, blank=True, help_text="Plans with capped rollover: most credits carried over."
    )
    is_active = models.BooleanField(default=True)
    display_order = models.PositiveSmallIntegerField(default=0)
    stripe_product_id = models.CharField(max_length=255, blank=True)
    stripe_price_id = models.CharField(max_length=255, blank=True)
    # What the current Stripe Price charges: a change of price makes a new Price.
    stripe_price_amount = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True
    )
    stripe_price_currency = models.CharField(max_length=3, blank=True)
    # ... and how often (empty for a pack): a change of interval makes a new Price too.
    stripe_price_interval = models.CharField(max_length=5, blank=True)

    class Meta:
        ordering = ["kind", "display_order", "price"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credits__gt=0),
                name="billing_package_credits",
                violation_error_message="A package must give at least one credit.",
            ),
            models.CheckConstraint(
                condition=Q(price__gt=0),
                name="billing_package_price",
                violation_error_message="The price must be more than zero.",
            ),
            models.CheckConstraint(
                condition=(Q(kind="pack") & Q(interval="") & Q(rollover="none"))
                | (Q(kind="plan") & Q(interval__in=["month", "year"])),
                name="billing_package_interval_for_plans",
                violation_error_message=(
                    "A plan needs a billing period; a pack has neither a period nor a rollover."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """Say, beside the field, what the database constraints would refuse less clearly."""
        errors = {}
        if self.kind == self.Kind.PLAN and not self.interval:
            errors["interval"] = "A plan needs a billing period."
        if self.kind == self.Kind.PACK and self.interval:
            errors["interval"] = "A pack has no billing period."
        if self.kind == self.Kind.PACK and self.rollover != self.Rollover.NONE:
            errors["rollover"] = "Rollover applies to plans only."
        if self.rollover == self.Rollover.CAPPED and not self.rollover_cap:
            errors["rollover_cap"] = "Capped rollover needs a cap of at least one credit."
        if self.rollover != self.Rollover.CAPPED and self.rollover_cap is not None:
            errors["rollover_cap"] = "A cap applies only to capped rollover."
        if errors:
            raise ValidationError(errors)

    @property
    def is_plan(self) -> bool:
        return self.kind == self.Kind.PLAN

    @property
    def price_per_credit(self) -> Decimal:
        """Money per credit, to four places (what a credit costs the buyer)."""
        return (self.price / self.credits).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)

    @property
    def cost_basis(self) -> Decimal:
        """The ledger's cost basis of these credits: money per credit, unrounded to 8 places."""
        return (self.price / self.credits).quantize(Decimal("0.00000001"))

    @property
    def needs_stripe_sync(self) -> bool:
        return (
            not self.stripe_price_id
            or self.stripe_price_amount != self.price
            or self.stripe_price_currency != self.currency
            or self.stripe_price_interval != self.interval
        )


class Promotion(models.Model):
    """A promo code: bonus credits on a pack, or free credits without buying anything."""

    class Kind(models.TextChoices):
        BONUS_FIXED = "bonus_fixed", "Bonus credits (a fixed number)"
        BONUS_PERCENT = "bonus_percent", "Bonus credits (a percentage of the pack)"
        FREE_GRANT = "free_grant", "Free credits, no purchase"

    code = models.CharField(
        max_length=40,
        help_text="Letters, digits, - and _; case does not matter: SPRING = spring.",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.PositiveIntegerField(
        help_text="Credits (at most BILLING_PROMOTION_MAX_CREDITS), or a percentage (1 to 100)."
    )
    valid_from = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_redemptions = models.PositiveIntegerField(
        null=True, blank=True, help_text="In total; empty for no limit."
    )
    max_per_user = models.PositiveIntegerField(default=1)
    packages = models.ManyToManyField(
        CreditPackage, blank=True, help_text="The packs it applies to; none selected: all packs."
    )
    credit_lifetime_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Days the promotional credits live; empty: they never expire.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Who set up, and who last changed, the code: neither may redeem it (a staff member who
    # could write a code and use it could credit themselves).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                Lower("code"),
                name="billing_promotion_code_ci_unique",
                violation_error_message="A promotion with this code already exists.",
            ),
            # The database's share of billing.services.promotions.terms_problems (the credit
            # maximum is a setting, so the service alone checks it, and again at each use).
            models.CheckConstraint(
                condition=Q(value__gt=0),
                name="billing_promotion_value",
                violation_error_message="The value must be at least 1.",
            ),
            models.CheckConstraint(
                condition=~Q(kind="bonus_percent") | Q(value__lte=100),
                name="billing_promotion_percent_at_most_100",
                violation_error_message="A percentage bonus is between 1 and 100 %.",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=F("valid_from")),
                name="billing_promotion_ends_after_it_starts",
                violation_error_message="The code must end after it starts.",
            ),
            models.CheckConstraint(
                condition=Q(code__regex=r"^[A-Za-z0-9_-]+$"),
                name="billing_promotion_code_one_word",
                violation_error_message="Use only letters, digits, - and _ (no spaces).",
            ),
            models.CheckConstraint(
                condition=Q(max_per_user__gt=0),
                name="billing_promotion_per_user",
                violation_error_message="Each user may use it at least once.",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def bonus_for(self, package: CreditPackage) -> int:
        """The bonus credits this code adds to a pack."""
        if self.kind == self.Kind.BONUS_FIXED:
            return self.value
        if self.kind == self.Kind.BONUS_PERCENT:
            return package.credits * self.value // 100
        return 0


class Purchase(models.Model):
    """One attempt to buy a pack: from the Checkout Session to the money coming back."""

    class Status(models.TextChoices):
        PENDING = "pending", "Awaiting payment"
        PAID = "paid", "Paid"
        FAILED = "failed", "Payment failed"
        EXPIRED = "expired", "Checkout abandoned"
        REFUNDED = "refunded", "Refunded"
        PARTIALLY_REFUNDED = "partially_refunded", "Partially refunded"
        DISPUTED = "disputed", "Disputed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="purchases"
    )
    package = models.ForeignKey(CreditPackage, on_delete=models.PROTECT, related_name="purchases")
    promotion = models.ForeignKey(
        Promotion, on_delete=models.PROTECT, null=True, blank=True, related_name="purchases"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    credits = models.PositiveIntegerField()
    bonus_credits = models.PositiveIntegerField(default=0)
    stripe_checkout_session_id = models.CharField(
        max_length=255, unique=True, null=True, blank=True
    )
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    stripe_charge_id = models.CharField(max_length=255, blank=True, db_index=True)
    receipt_url = models.URLField(max_length=500, blank=True)
    refunded_amount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    clawed_back_credits = models.PositiveIntegerField(default=0)
    clawback_shortfall = models.PositiveIntegerField(
        default=0,
        help_text="Credits a refund or lost dispute should have taken back but could not.",
    )
    dispute_hold = models.ForeignKey(
        "credits.Hold", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    dispute_outcome = models.CharField(
        max_length=20,
        blank=True,
        help_text="How Stripe decided the payment's disputes: lost if any was lost, else won if "
        "any was won, else warning_closed for inquiries only; empty until one is decided.",
    )
    open_dispute_ids = models.JSONField(
        default=list,
        blank=True,
        help_text="The Stripe disputes of this payment opened and not decided yet: while there "
        "is one, the purchase's credits are held.",
    )
    decided_dispute_ids = models.JSONField(
        default=list,
        blank=True,
        help_text="The Stripe disputes of this payment already decided: their events change "
        "nothing more.",
    )
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"], name="billing_purchase_user")]

    def __str__(self) -> str:
        return f"Purchase #{self.pk}: {self.package} for {self.user}"

    @property
    def total_credits(self) -> int:
        return self.credits + self.bonus_credits

    @property
    def price_per_credit(self) -> Decimal | None:
        """What each credit bought here cost, bonus included, to four places like the shop's."""
        if not self.total_credits:
            return None
        per_credit = self.amount / self.total_credits
        return per_credit.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


class Redemption(models.Model):
    """One use of a promotion by a user: for a purchase (a bonus) or on its own (a free grant).

    `number` counts the user's uses of the promotion (1, 2, …), so the database itself refuses a
    second use where the limit is one: (promotion, user, number) is unique among uses that count
    (a released reservation gives its number back).
    """

    class Status(models.TextChoices):
        RESERVED = "reserved", "Reserved (checkout open)"
        USED = "used", "Used"
        RELEASED = "released", "Released (checkout not paid)"

    promotion = models.ForeignKey(Promotion, on_delete=models.PROTECT, related_name="redemptions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="redemptions"
    )
    purchase = models.OneToOneField(
        Purchase, on_delete=models.PROTECT, null=True, blank=True, related_name="redemption"
    )
    number = models.PositiveIntegerField()
    credits = models.PositiveIntegerField(help_text="Bonus or free credits it gives.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.USED)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["promotion", "user", "number"],
                condition=~Q(status="released"),
                name="billing_redemption_once_per_number",
            )
        ]

    def __str__(self) -> str:
        return f"{self.promotion} by {self.user}"


class Subscription(models.Model):
    """Our copy of a Stripe subscription; the webhooks keep it in step (Stripe is the truth)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="subscriptions"
    )
    package = models.ForeignKey(
        CreditPackage, on_delete=models.PROTECT, related_name="subscriptions"
    )
    stripe_subscription_id = models.CharField(max_length=255, unique=True)
    status = models.CharField(max_length=32, default="incomplete")
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    # When Stripe ended it (cancelled): invoices for periods starting later grant nothing.
    ended_at = models.DateTimeField(null=True, blank=True)
    # The newest Stripe event applied, so an older one arriving late changes nothing.
    last_event_created = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    LIVE_STATUSES = ("active", "trialing", "past_due", "incomplete", "unpaid")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.package} for {self.user} ({self.status})"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE_STATUSES


class SubscriptionInvoice(models.Model):
    """A paid subscription invoice and the credits it granted: one row per invoice, ever."""

    subscription = models.ForeignKey(
        Subscription, on_delete=models.PROTECT, related_name="invoices"
    )
    stripe_invoice_id = models.CharField(max_length=255, unique=True)
    # The payment intent that paid it, from the invoice's payment (invoice_payment.paid, or the
    # invoice's `payments`): since Stripe's 2025-03-31.basil a charge no longer names its
    # invoice, so its refunds and disputes are matched to the invoice by this.
    stripe_payment_intent_id = models.CharField(max_length=255, blank=True, db_index=True)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    credits = models.PositiveIntegerField()
    rollover_credits = models.PositiveIntegerField(default=0)
    # The period whose unused credits this one carried on: each period rolls over at most once.
    rolled_over_from = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="rolled_into"
    )
    # What Stripe told us of the invoice's charge, each only ever growing (as a purchase's):
    # the largest refunded amount, and whether a chargeback of it was lost.
    refunded_amount = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    chargeback_lost = models.BooleanField(default=False)
    clawed_back_credits = models.PositiveIntegerField(default=0)
    clawback_shortfall = models.PositiveIntegerField(
        default=0,
        help_text="Credits a refund or lost chargeback should have taken back but could not.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-period_start"]

    def __str__(self) -> str:
        return self.stripe_invoice_id


class UnmatchedStripeEvent(models.Model):
    """A Stripe event billing could not tie to a purchase or user: kept for staff, no credits."""

    stripe_event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=64)
    reason = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.stripe_event_id}"


class MoneyBack(models.Model):
    """Money that went back to a pack's buyer or a subscriber, dated when Stripe told us: a refund
    (by how much Stripe's refunded amount grew) or a chargeback lost, of one purchase or one
    subscription invoice. Revenue reports net these out in their own month; the purchase or
    invoice keeps the running facts (`refunded_amount`, `dispute_outcome` / `chargeback_lost`)."""

    class Kind(models.TextChoices):
        REFUND = "refund", "Refund"
        CHARGEBACK = "chargeback", "Chargeback lost"

    purchase = models.ForeignKey(
        Purchase, on_delete=models.PROTECT, null=True, blank=True, related_name="money_back"
    )
    invoice = models.ForeignKey(
        SubscriptionInvoice,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="money_back",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    currency = models.CharField(max_length=3)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "money back"
        indexes = [models.Index(fields=["created_at"], name="billing_moneyback_created")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount__gt=0), name="billing_moneyback_amount_positive"
            ),
            models.CheckConstraint(
                condition=Q(purchase__isnull=False, invoice__isnull=True)
                | Q(purchase__isnull=True, invoice__isnull=False),
                name="billing_moneyback_of_a_purchase_or_an_invoice",
                violation_error_message="Money back is of one purchase or one invoice.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.amount} {self.currency.upper()}"
