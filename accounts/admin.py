from allauth.account.admin import EmailAddressAdmin as AllauthEmailAddressAdmin
from allauth.account.models import EmailAddress
from allauth.mfa.admin import AuthenticatorAdmin as AllauthAuthenticatorAdmin
from allauth.mfa.models import Authenticator
from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from accounts import services
from accounts.forms import PasswordChangeAdminForm, UserChangeAdminForm, UserCreationAdminForm
from accounts.models import ApiToken, User

# What lets an account do more: only superusers change these, and nobody on their own account.
PRIVILEGE_FIELDS = ["is_staff", "is_superuser", "groups", "user_permissions"]


def _may_manage(request, obj) -> bool:
    """Only a superuser manages another staff account (its password, its details): a user
    administrator could otherwise take over a superuser by setting their password."""
    if obj is None or request.user.is_superuser or obj.pk == request.user.pk:
        return True
    return not (obj.is_staff or obj.is_superuser)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    change_password_form = PasswordChangeAdminForm
    list_display = ["email", "name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "name"]
    ordering = ["email"]
    readonly_fields = ["last_login", "date_joined"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.readonly_fields
        # The sign-in address changes only through the user's E-mail page, which verifies it
        # and keeps allauth's address list in step; an edit here would leave the old one working.
        fields = ["email", *self.readonly_fields]
        # Powers are given by superusers only, and never to oneself (shown, not editable).
        if not request.user.is_superuser or obj.pk == request.user.pk:
            fields += PRIVILEGE_FIELDS
        return fields

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _may_manage(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and _may_manage(request, obj)

    actions = ["send_password_reset"]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.is_superuser:
            # Bulk deletion checks no single account; staff accounts must not go that way.
            actions.pop("delete_selected", None)
        return actions

    def user_change_password(self, request, id, form_url=""):
        """Only a superuser sets a password here, and never their own (that is the Password
        page, which asks for the current one): a user administrator who could choose a
        customer's password could sign in as them and move their credits. Others send the
        owner a reset e-mail instead."""
        if not request.user.is_superuser or str(request.user.pk) == str(id):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)

    @admin.action(
        description="Send the selected users a password-reset e-mail", permissions=["change"]
    )
    def send_password_reset(self, request, queryset):
        users = [user for user in queryset if _may_manage(request, user)]
        for user in users:
            services.send_password_reset(request=request, user=user)
            self.log_change(request, user, "Sent a password-reset e-mail.")
        self.message_user(
            request,
            f"A password-reset e-mail went to {len(users)} user(s); they choose the new password.",
            messages.SUCCESS,
        )

    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["name"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Important dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["email", "usable_password", "password1", "password2"],
            },
        ),
    ]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Users' API tokens, read-only (only a hash of each is stored, and it is not shown);
    staff may revoke them, e.g. when one has leaked."""

    list_display = ["name", "prefix", "user", "created_at", "expires_at", "last_used_at"]
    list_display += ["revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["user__email", "name", "prefix"]
    fields = ["user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    actions = ["revoke_tokens"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # The change permission allows the revoke action; no field is ever edited.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        revoked = services.revoke_api_tokens(token_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{revoked} token(s) revoked.", messages.SUCCESS)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    """Groups carry permissions, so only superusers create, change or delete them: anyone else
    with change_group could add any permission to a group they belong to."""

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(AllauthAuthenticatorAdmin):
    """Who has two-factor, read-only: allauth's own admin showed (and let staff edit) the data
    that holds each TOTP secret and the recovery codes. Deleting an authenticator resets the
    user's two-factor like their own removal does (tokens revoked, sessions ended); only a
    superuser does that to a staff account."""

    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = fields
    search_fields = ["user__email"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        # Removing someone's second factor is a superuser's act: a user administrator who could
        # strip a customer's two-factor would be one password reset from their credits.
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, each checked
        return actions

    def delete_model(self, request, obj):
        services.remove_authenticator(authenticator=obj)


admin.site.unregister(EmailAddress)


@admin.register(EmailAddress)
class EmailAddressAdmin(AllauthEmailAddressAdmin):
    """Who signs in with which address, read-only except for superusers: an address added here,
    marked verified, receives that account's password resets, so a staff member who could add
    one could take the account (and its credits). People change their own addresses on their
    E-mail page, which verifies them."""

    actions = []

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser and (obj is None or obj.user_id != request.user.pk)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser and (obj is None or obj.user_id != request.user.pk)
