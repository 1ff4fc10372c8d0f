"""The ledger's history in the admin: view only. Nothing in it is added, edited or deleted."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from credits import selectors
from credits.models import (
    Allocation,
    CreditGrant,
    CreditTransaction,
    Entry,
    Hold,
    WalletStatusChange,
)


def hold_expiry(hold: Hold) -> str:
    """When a hold expires, or that it never does (a job's or a disputed payment's hold)."""
    if hold.expires_at is None:
        return "until settled"
    return f"{hold.expires_at:%Y-%m-%d %H:%M}"


class LedgerReadOnly:
    """The ledger's history is never edited by hand: view only, no delete action."""

    actions = None
    show_full_result_count = False  # counting a million rows on every page is not worth it

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class EntryInline(LedgerReadOnly, admin.TabularInline):
    model = Entry
    fields = ["wallet", "amount", "balance_after"]
    readonly_fields = fields
    extra = 0


class AllocationInline(LedgerReadOnly, admin.TabularInline):
    model = Allocation
    fields = ["grant", "amount"]
    readonly_fields = fields
    extra = 0


@admin.register(CreditTransaction)
class CreditTransactionAdmin(LedgerReadOnly, admin.ModelAdmin):
    list_display = ["id", "created_at", "kind", "wallet", "amount", "description", "actor_label"]
    list_filter = ["kind", "actor_kind"]
    search_fields = ["=id", "description", "reference", "wallet__user__email"]
    list_select_related = ["wallet__user"]
    date_hierarchy = "created_at"
    inlines = [EntryInline, AllocationInline]
    readonly_fields = [
        "kind",
        "wallet",
        "transfer_parties",
        "amount",
        "description",
        "reference",
        "reference_type",
        "reference_id",
        "metadata",
        "actor_kind",
        "actor_user",
        "actor_app_id",
        "actor_label",
        "asked_by",
        "idempotency_record",
        "reverses",
        "hold",
        "created_at",
    ]

    @admin.display(description="Transfer")
    def transfer_parties(self, txn):
        """Both sides of a transfer, each a link to its wallet (the metadata only has an id)."""
        parties = selectors.transfer_parties(txn)
        if parties is None:
            return "—"
        return format_html(
            "from {} to {}", _wallet_link(parties.sender), _wallet_link(parties.receiver)
        )

    @admin.display(description="Asked by")
    def asked_by(self, txn):
        if txn.actor_user_id is None:
            return f"{txn.get_actor_kind_display()}: {txn.actor_label}"
        url = reverse("admin:accounts_user_change", args=[txn.actor_user_id])
        return format_html(
            '{}: <a href="{}">{}</a>', txn.get_actor_kind_display(), url, txn.actor_label
        )


def _wallet_link(wallet):
    if wallet is None:
        return "—"
    url = reverse("admin:credits_wallet_change", args=[wallet.pk])
    return format_html('<a href="{}">{}</a>', url, wallet.user.email if wallet.user else wallet)


@admin.register(Entry)
class EntryAdmin(LedgerReadOnly, admin.ModelAdmin):
    list_display = ["id", "created_at", "transaction", "wallet", "amount", "balance_after"]
    list_filter = ["wallet__kind"]
    search_fields = ["=transaction__id", "wallet__user__email", "wallet__system_code"]
    list_select_related = ["transaction", "wallet__user"]
    raw_id_fields = ["transaction", "wallet"]


@admin.register(CreditGrant)
class CreditGrantAdmin(LedgerReadOnly, admin.ModelAdmin):
    list_display = ["id", "wallet", "source", "is_promotional", "amount", "remaining"]
    list_display += ["expires_at", "priority", "cost_basis", "currency"]
    list_filter = ["source", "is_promotional"]
    search_fields = ["=id", "wallet__user__email"]
    list_select_related = ["wallet__user"]
    raw_id_fields = ["wallet", "transaction"]


@admin.register(Allocation)
class AllocationAdmin(LedgerReadOnly, admin.ModelAdmin):
    list_display = ["id", "transaction", "grant", "amount"]
    search_fields = ["=transaction__id", "=grant__id"]
    raw_id_fields = ["transaction", "grant"]


@admin.register(Hold)
class HoldAdmin(LedgerReadOnly, admin.ModelAdmin):
    list_display = ["id", "wallet", "amount", "captured_amount", "status", "expiry"]
    list_filter = ["status"]
    search_fields = ["=id", "wallet__user__email", "reference", "description"]
    list_select_related = ["wallet__user"]
    raw_id_fields = ["wallet"]

    @admin.display(description="Expires (UTC)", ordering="expires_at")
    def expiry(self, hold: Hold) -> str:
        return hold_expiry(hold)


@admin.register(WalletStatusChange)
class WalletStatusChangeAdmin(LedgerReadOnly, admin.ModelAdmin):
    list_display = ["created_at", "wallet", "from_status", "to_status", "actor_label", "reason"]
    list_filter = ["to_status"]
    search_fields = ["wallet__user__email", "reason"]
    raw_id_fields = ["wallet"]
