"""The user admin, as the ledger sees it: each user's page links to their wallet.

`accounts` cannot know about wallets (it sits below `credits`), so the ledger extends the user
admin here rather than `accounts.admin` reaching up.
"""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import UserAdmin as AccountsUserAdmin
from accounts.models import User

admin.site.unregister(User)


@admin.register(User)
class UserAdmin(AccountsUserAdmin):
    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "wallet_link"] if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        if obj is None:
            return fieldsets
        return [*fieldsets, ("Credits", {"fields": ["wallet_link"]})]

    @admin.display(description="Wallet")
    def wallet_link(self, user: User) -> str:
        wallet = getattr(user, "wallet", None)
        if wallet is None:
            return "—"
        url = reverse("admin:credits_wallet_change", args=[wallet.pk])
        return format_html(
            "<a href='{}'>Wallet: {} credits, {}</a>",
            url,
            wallet.balance,
            wallet.get_status_display(),
        )
