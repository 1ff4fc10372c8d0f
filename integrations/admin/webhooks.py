"""Staff's webhook endpoints and deliveries: endpoints listed by app and status, registered for
any app (the secret shown once), disabled, enabled, or resent everything since a time;
deliveries filtered by status, event type and app, each with its attempts. Every change goes
through integrations.services.webhooks; the forms that act act once (core/once.py)."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from core.once import OnceToken
from integrations.errors import IntegrationError
from integrations.forms import ResendSinceForm, WebhookEndpointForm, add_service_error
from integrations.models import PartnerApp, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.services import webhook_deliveries, webhooks


class StaffEndpointForm(WebhookEndpointForm):
    app = forms.ModelChoiceField(queryset=PartnerApp.objects.exclude(status="revoked"))
    field_order = ["app", "url", "description", "event_types"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "app", "status", "disabled_reason", "created_at"]
    list_filter = ["status", "app"]
    list_select_related = ["app"]
    search_fields = ["url", "app__name"]
    actions = ["disable_endpoints", "enable_endpoints", "resend_since"]
    fields = [
        "app",
        "url",
        "description",
        "subscribed",
        "status",
        "disabled_reason",
        "disabled_at",
        "failing_since",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description="Event types")
    def subscribed(self, endpoint: WebhookEndpoint) -> str:
        return ", ".join(endpoint.event_types())

    def _page(self, request, title: str, **context) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.model._meta,
            **context,
        }
        return TemplateResponse(request, "admin/integrations/webhookendpoint/step.html", context)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        once = OnceToken(request, purpose="integrations.webhook.add")
        if (early := once.answer_early(self.admin_site.each_context(request))) is not None:
            return early
        form = StaffEndpointForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = dict(form.cleaned_data)
            try:
                new = webhooks.create(**data)
            except IntegrationError as error:
                add_service_error(form, error)
            else:
                self.log_addition(request, new.endpoint, "Registered in the admin.")
                url = reverse("admin:integrations_webhookendpoint_change", args=[new.endpoint.pk])
                once.complete(url=url, label=f"the endpoint {new.endpoint}")
                return self._page(
                    request, "The signing secret", endpoint=new.endpoint, secret=new.secret
                )
        return self._page(request, "Add a webhook endpoint", form=form)

    @admin.action(description="Disable the selected endpoints", permissions=["change"])
    def disable_endpoints(self, request, queryset):
        for endpoint in queryset:
            if webhooks.disable(endpoint=endpoint, reason="Disabled by CreditDesk staff."):
                self.log_change(request, endpoint, "Disabled.")
        self.message_user(request, "The selected endpoints are disabled.", messages.SUCCESS)

    @admin.action(description="Enable the selected endpoints", permissions=["change"])
    def enable_endpoints(self, request, queryset):
        for endpoint in queryset:
            webhooks.enable(endpoint=endpoint)
            self.log_change(request, endpoint, "Enabled.")
        self.message_user(request, "The selected endpoints are enabled.", messages.SUCCESS)

    @admin.action(description="Resend everything since a time…", permissions=["change"])
    def resend_since(self, request, queryset):
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        return redirect(f"{reverse('admin:integrations_webhookendpoint_resend')}?ids={ids}")

    def get_urls(self):
        view = self.admin_site.admin_view(self.resend_view)
        return [
            path("resend/", view, name="integrations_webhookendpoint_resend"),
            *super().get_urls(),
        ]

    def resend_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        ids = [int(pk) for pk in request.GET.get("ids", "").split(",") if pk.isdecimal()]
        chosen = list(WebhookEndpoint.objects.filter(pk__in=ids).select_related("app"))
        if not chosen:
            self.message_user(request, "Select at least one endpoint.", messages.WARNING)
            return redirect("admin:integrations_webhookendpoint_changelist")
        key = ",".join(str(endpoint.pk) for endpoint in chosen)
        once = OnceToken(request, purpose=f"integrations.webhook.resend:{key}")
        if (early := once.answer_early(self.admin_site.each_context(request))) is not None:
            return early
        form = ResendSinceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            for endpoint in chosen:
                try:
                    count = webhook_deliveries.resend_since(
                        endpoint=endpoint, since=form.cleaned_data["since"]
                    )
                except IntegrationError as error:
                    self.message_user(request, f"{endpoint}: {error.message}", messages.ERROR)
                else:
                    self.message_user(
                        request, f"{endpoint}: {count} events sent again.", messages.SUCCESS
                    )
            url = reverse("admin:integrations_webhookendpoint_changelist")
            once.complete(url=url, label="the resend")
            return redirect(url)
        return self._page(request, "Resend everything since", form=form, endpoints=chosen)


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["at", "status_code", "error", "latency_ms", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "created_at",
        "event_type",
        "webhook_id",
        "endpoint",
        "app",
        "status",
        "attempts",
        "last_status_code",
        "last_latency_ms",
    ]
    list_filter = ["status", "event__type", "endpoint__app"]
    list_select_related = ["event", "endpoint__app"]
    fields = [
        "endpoint",
        "event",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_latency_ms",
        "created_at",
        "delivered_at",
    ]
    readonly_fields = fields
    inlines = [AttemptInline]

    @admin.display(description="Event type", ordering="event__type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return delivery.event.type

    @admin.display(description="webhook-id")
    def webhook_id(self, delivery: WebhookDelivery) -> str:
        return delivery.event.webhook_id

    @admin.display(description="App", ordering="endpoint__app__name")
    def app(self, delivery: WebhookDelivery) -> str:
        return str(delivery.endpoint.app)

    def has_add_permission(self, request):
        return False

    # The log is what happened: it goes with its endpoint or by events_prune, never by hand.
    def has_delete_permission(self, request, obj=None):
        return False
