"""Staff's billing: the catalogue, promotions, purchases (with refunds), subscriptions."""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from billing import selectors
from billing.errors import BillingError
from billing.forms import PromotionAdminForm
from billing.models import (
    CreditPackage,
    Promotion,
    Purchase,
    Redemption,
    Subscription,
    SubscriptionInvoice,
    UnmatchedStripeEvent,
)
from billing.services import catalogue, refunds
from core.fields import MoneyField
from core.figures import money
from core.once import OnceToken


@admin.register(CreditPackage)
class CreditPackageAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "credits", "price_label", "per_credit", "is_active"]
    list_display += ["display_order", "stripe_price_id"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name", "stripe_product_id", "stripe_price_id"]
    readonly_fields = ["stripe_product_id", "stripe_price_id", "stripe_price_amount"]
    readonly_fields += ["stripe_price_currency", "stripe_price_interval"]
    actions = ["sync_with_stripe"]

    def has_delete_permission(self, request, obj=None):
        return False  # purchases point at it: deactivate it instead

    def save_model(self, request, obj, form, change):
        catalogue.save_by_staff(obj, staff=request.user, created=not change)

    @admin.display(description="Price", ordering="price")
    def price_label(self, package: CreditPackage) -> str:
        return money(package.price, package.currency)

    @admin.display(description="Per credit")
    def per_credit(self, package: CreditPackage) -> str:
        return money(package.price_per_credit, package.currency)

    @admin.action(description="Create or update the Stripe Product and Price")
    def sync_with_stripe(self, request, queryset):
        for package in queryset:
            try:
                done = catalogue.sync_package(package)
            except BillingError as error:
                self.message_user(request, f"{package}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{package}: {done}.", messages.SUCCESS)


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    form = PromotionAdminForm
    list_display = ["code", "kind", "value", "valid_from", "valid_until", "used", "limit"]
    list_display += ["is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["code"]
    filter_horizontal = ["packages"]
    readonly_fields = ["created_at", "created_by", "changed_by"]

    def has_delete_permission(self, request, obj=None):
        return False  # redemptions point at it: deactivate it instead

    def save_model(self, request, obj, form, change):
        catalogue.save_by_staff(obj, staff=request.user, created=not change)

    def get_queryset(self, request):
        counted = Q(redemptions__status__in=[Redemption.Status.RESERVED, Redemption.Status.USED])
        return (
            super().get_queryset(request).annotate(used_count=Count("redemptions", filter=counted))
        )

    @admin.display(description="Redemptions", ordering="used_count")
    def used(self, promotion: Promotion) -> int:
        return promotion.used_count

    @admin.display(description="Limit")
    def limit(self, promotion: Promotion) -> str:
        total = promotion.max_redemptions if promotion.max_redemptions is not None else "∞"
        return f"{total} ({promotion.max_per_user} per user)"


class ShortfallFilter(admin.SimpleListFilter):
    title = "clawback shortfall"
    parameter_name = "shortfall"

    def lookups(self, request, model_admin):
        return [("yes", "Credits could not all be taken back")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(clawback_shortfall__gt=0)
        return queryset


class RefundForm(forms.Form):
    """Its idempotency key comes from the form's once-token (core/once.py)."""

    amount = MoneyField(
        min_value=Decimal("0.01"),
        decimal_places=2,
        help_text="Money to give back. The credits move when Stripe confirms the refund.",
    )
    reason = forms.CharField(max_length=255)

    def __init__(self, *args, purchase: Purchase, **kwargs):
        super().__init__(*args, **kwargs)
        self.purchase = purchase
        self.fields["amount"].initial = purchase.amount - purchase.refunded_amount


@admin.register(Purchase)
class PurchaseAdmin(admin.ModelAdmin):
    list_display = ["id", "created_at", "user", "package", "amount_label", "total_credits"]
    list_display += ["status", "clawback_shortfall"]
    list_filter = ["status", ShortfallFilter, "package", ("created_at", admin.DateFieldListFilter)]
    search_fields = [
        "user__email",
        "stripe_checkout_session_id",
        "stripe_payment_intent_id",
        "stripe_charge_id",
    ]
    list_select_related = ["user", "package"]
    date_hierarchy = "created_at"
    actions = ["refund"]
    exclude = ["dispute_hold"]
    readonly_fields = [
        field.name for field in Purchase._meta.fields if field.name != "dispute_hold"
    ]
    readonly_fields += ["grants", "refund_link"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Read-only pages; the refund has its own form.
        return obj is None and super().has_change_permission(request)

    @admin.display(description="Paid", ordering="amount")
    def amount_label(self, purchase: Purchase) -> str:
        return money(purchase.amount, purchase.currency)

    @admin.display(description="Credit blocks granted")
    def grants(self, purchase: Purchase) -> str:
        grants = selectors.purchase_grants(purchase)
        return (
            format_html_join(
                "",
                "<p>Grant #{}: {} {} credits, {} left</p>",
                ((g.pk, g.amount, g.kind_label.lower(), g.remaining) for g in grants),
            )
            or "None yet."
        )

    @admin.display(description="Refund")
    def refund_link(self, purchase: Purchase) -> str:
        if purchase.pk is None or not purchase.stripe_payment_intent_id:
            return "—"
        url = reverse("admin:billing_purchase_refund", args=[purchase.pk])
        return format_html('<a class="button" href="{}">Refund through Stripe</a>', url)

    def get_urls(self):
        return [
            path(
                "<int:purchase_id>/refund/",
                self.admin_site.admin_view(self.refund_view),
                name="billing_purchase_refund",
            ),
            *super().get_urls(),
        ]

    @admin.action(description="Refund the selected purchase through Stripe", permissions=["change"])
    def refund(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Refund one purchase at a time.", messages.WARNING)
            return None
        return redirect("admin:billing_purchase_refund", queryset.get().pk)

    def refund_view(self, request, purchase_id: int):
        if not self.has_change_permission(request):
            raise PermissionDenied
        purchase = get_object_or_404(Purchase, pk=purchase_id)
        once = OnceToken(request, purpose=f"billing.refund:{purchase.pk}")
        if (early := once.answer_early(self.admin_site.each_context(request))) is not None:
            return early
        form = RefundForm(request.POST or None, purchase=purchase)
        if request.method == "POST" and form.is_valid():
            try:
                refunds.refund_purchase(
                    purchase=purchase,
                    amount=form.cleaned_data["amount"],
                    reason=form.cleaned_data["reason"],
                    staff=request.user,
                    idempotency_key=once.key,
                )
            except BillingError as error:
                form.add_error("amount", error.message)
            else:
                self.message_user(
                    request,
                    "Refund sent to Stripe; the credits are taken back when Stripe confirms it.",
                    messages.SUCCESS,
                )
                url = reverse("admin:billing_purchase_change", args=[purchase.pk])
                once.complete(url=url, label=f"the refund of purchase #{purchase.pk}")
                return redirect(url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Refund purchase #{purchase.pk}",
            "opts": self.model._meta,
            "purchase": purchase,
            "form": form,
        }
        return TemplateResponse(request, "admin/billing/purchase/refund.html", context)


@admin.register(Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    list_display = ["created_at", "promotion", "user", "credits", "status", "purchase"]
    list_filter = ["status", "promotion"]
    search_fields = ["user__email", "promotion__code"]
    readonly_fields = [field.name for field in Redemption._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SubscriptionInvoiceInline(admin.TabularInline):
    model = SubscriptionInvoice
    fields = ["stripe_invoice_id", "period_start", "period_end", "amount", "credits"]
    fields += ["rollover_credits", "refunded_amount", "chargeback_lost", "clawback_shortfall"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ["user", "package", "status", "current_period_end", "cancel_at_period_end"]
    list_filter = ["status", "package"]
    search_fields = ["user__email", "stripe_subscription_id"]
    readonly_fields = [field.name for field in Subscription._meta.fields]
    inlines = [SubscriptionInvoiceInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # Stripe's webhooks keep it in step

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(UnmatchedStripeEvent)
class UnmatchedStripeEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "event_type", "stripe_event_id", "reason"]
    search_fields = ["stripe_event_id"]
    readonly_fields = [field.name for field in UnmatchedStripeEvent._meta.fields]

    def has_add_permission(self, request):
        return False
