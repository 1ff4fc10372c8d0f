"""The user admin, as the ledger sees it: each user's page links to their wallet; an account
with history is deactivated (the ledger is append-only), one without may be deleted.

`accounts` cannot know about wallets (it sits below `credits`), so the ledger extends the user
admin here rather than `accounts.admin` reaching up.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import UserAdmin as AccountsUserAdmin
from accounts.models import User
from credits.errors import CreditError
from credits.services import users as user_services


class DeactivateForm(forms.Form):
    # The admin action's own inputs travel as hidden fields, so the page is the shared step form.
    action = forms.CharField(widget=forms.HiddenInput, initial="deactivate_users")
    _selected_action = forms.Field(widget=forms.MultipleHiddenInput, required=False)
    reason = forms.CharField(
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Why: kept in the staff audit trail and the wallet's status history.",
    )


admin.site.unregister(User)


@admin.register(User)
class UserAdmin(AccountsUserAdmin):
    actions = [*AccountsUserAdmin.actions, "deactivate_users"]

    @admin.action(
        description="Deactivate the selected users (sign-in off, wallet suspended)",
        permissions=["change"],
    )
    def deactivate_users(self, request, queryset):
        """Users with ledger history cannot be deleted: this is how their accounts end."""
        selected = request.POST.getlist(helpers.ACTION_CHECKBOX_NAME)
        form = DeactivateForm(
            request.POST if "reason" in request.POST else None,
            initial={helpers.ACTION_CHECKBOX_NAME: selected},
        )
        if not form.is_valid():
            context = {
                **self.admin_site.each_context(request),
                "title": "Deactivate users",
                "opts": self.model._meta,
                "users": queryset,
                "form": form,
                "cancel_url": reverse("admin:accounts_user_changelist"),
            }
            return TemplateResponse(request, "admin/accounts/user/deactivate.html", context)
        done = []
        for user in queryset:
            try:
                user_services.deactivate_user(
                    user=user, staff=request.user, reason=form.cleaned_data["reason"]
                )
            except CreditError as error:
                self.message_user(request, f"{user.email}: {error.message}", messages.ERROR)
            else:
                done.append(user.email)
        if done:
            self.message_user(request, f"Deactivated: {', '.join(done)}.", messages.SUCCESS)
        return None

    def get_deleted_objects(self, objs, request):
        """Deleting a user takes their empty wallet with them; one with history is listed as
        what cannot be deleted, with what to do instead (the ledger is append-only)."""
        deleted, protected = [], []
        for user in objs:
            try:
                user_services.check_power(user, request.user)
            except CreditError as error:
                protected.append(f"{user.email}: {error.message}")
                continue
            blockers = user_services.deletion_blockers(user)
            if blockers:
                protected.append(
                    f"{user.email}: has {', '.join(blockers)}, which must stay; "
                    "use “Deactivate the selected users” instead"
                )
            else:
                deleted.append(f"{user.email} (and their empty wallet)")
        return deleted, {"users": len(deleted)}, set(), protected

    def delete_model(self, request, obj):
        user_services.delete_user(user=obj, staff=request.user)

    def delete_queryset(self, request, queryset):
        for user in queryset:
            user_services.delete_user(user=user, staff=request.user)

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
