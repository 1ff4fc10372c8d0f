from django.contrib import admin

from notifications.models import NotificationOptOut, SentNotice


@admin.register(SentNotice)
class SentNoticeAdmin(admin.ModelAdmin):
    """What was e-mailed to whom; a notice with no `sent` date failed or waits (notices_retry)."""

    list_display = ("subject", "to", "kind", "created_at", "sent_at")
    list_filter = ("kind", ("sent_at", admin.EmptyFieldListFilter))
    search_fields = ("to", "subject")
    readonly_fields = [field.name for field in SentNotice._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(NotificationOptOut)
class NotificationOptOutAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("user__email",)
    readonly_fields = ("user", "kind", "created_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
