"""Events in the admin: the outbox's history, read-only. Nobody adds, changes or deletes an
event here, superusers included (events are what happened; `events_prune` is how old ones go);
staff who may change events can dispatch again those a channel failed on."""

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from core.text import counted
from events import dispatch
from events.models import Event


class StateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [
            ("waiting", "Waiting"),
            ("failed", "Failed (a channel erred)"),
            ("dispatched", "Dispatched"),
        ]

    def queryset(self, request, queryset):
        if self.value() in ("waiting", "failed", "dispatched"):
            return getattr(queryset, self.value())()
        return queryset


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["id", "occurred_at", "type", "version", "user", "app_id", "state"]
    list_filter = [StateFilter, "type", "app_id", ("occurred_at", admin.DateFieldListFilter)]
    search_fields = ["user__email"]
    search_help_text = "The e-mail address of the user the event is about."
    list_select_related = ["user"]
    date_hierarchy = "occurred_at"
    actions = ["dispatch_again"]
    fields = [
        "webhook_id",
        "type",
        "version",
        "occurred_at",
        "user",
        "app_id",
        "state",
        "dispatched_at",
        "dispatch_error",
        "body",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_dispatch_permission(self, request):
        return request.user.has_perm("events.change_event")

    @admin.display(description="State")
    def state(self, event: Event) -> str:
        if event.dispatched_at is not None:
            return "Dispatched"
        return "Failed" if event.dispatch_error else "Waiting"

    @admin.display(description="Id")
    def webhook_id(self, event: Event) -> str:
        return event.webhook_id

    @admin.display(description="Body (as listeners receive it)")
    def body(self, event: Event) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.body(), indent=2, sort_keys=True))

    @admin.action(
        description="Dispatch again the selected events a channel failed on",
        permissions=["dispatch"],
    )
    def dispatch_again(self, request, queryset):
        cleared = dispatch.dispatch_again(queryset)
        if not cleared:
            self.message_user(
                request, "None of the selected events had failed: nothing to do.", messages.WARNING
            )
            return
        self.message_user(request, f"{counted(cleared, 'event')} will be dispatched again.")
