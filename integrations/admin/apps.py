"""Staff's partner apps: the list by status with usage figures; status changes and the release
of an app's open holds through an intermediate form with a reason; the details staff set
(scopes, redirect URIs, cap, rate limit, introspection); its keys (integrations/admin/keys.py),
consents, log and usage per day. Apps are never deleted (the ledger names them on the
transactions they asked for): they are revoked."""

from dataclasses import dataclass

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from accounts.models import User
from core.once import OnceToken
from credits.errors import CreditError
from credits.models import CreditTransaction, Hold
from integrations.admin.keys import AppKeys
from integrations.admin.pages import StepPages, table, when
from integrations.chart import daily_chart
from integrations.errors import IntegrationError
from integrations.figures import usage_by_day, with_usage
from integrations.forms import (
    ReasonForm,
    RegisterAppForm,
    add_service_error,
    redirect_uris_text,
    scope_choices,
)
from integrations.models import Consent, PartnerApp
from integrations.services import apps

Status = PartnerApp.Status
REVIEW_PERMISSION = "integrations.review_partnerapp"
RELEASE_PERMISSION = "integrations.release_holds_partnerapp"

# django-oauth-toolkit registers its Application admin for our model: this one replaces it.
if admin.site.is_registered(PartnerApp):
    admin.site.unregister(PartnerApp)


@dataclass(frozen=True)
class Operation:
    title: str
    permission: str
    # The status an app must have for the operation to apply (None: any), and where it goes.
    from_statuses: frozenset | None = None
    to: str | None = None


OPERATIONS = {
    "approve": Operation(
        "Approve", REVIEW_PERMISSION, frozenset({Status.PENDING}), Status.APPROVED
    ),
    "suspend": Operation(
        "Suspend", REVIEW_PERMISSION, frozenset({Status.APPROVED}), Status.SUSPENDED
    ),
    "reactivate": Operation(
        "Reactivate", REVIEW_PERMISSION, frozenset({Status.SUSPENDED}), Status.APPROVED
    ),
    "revoke": Operation(
        "Revoke (final)",
        REVIEW_PERMISSION,
        frozenset({Status.PENDING, Status.APPROVED, Status.SUSPENDED}),
        Status.REVOKED,
    ),
    "release_holds": Operation("Release all open holds", RELEASE_PERMISSION),
}


def open_holds_of(app: PartnerApp):
    """The open holds the app placed (what services.apps.release_open_holds releases)."""
    return Hold.objects.filter(
        status=Hold.Status.OPEN,
        transactions__kind=CreditTransaction.Kind.HOLD,
        transactions__actor_app_id=app.pk,
    )


class PartnerAppForm(forms.ModelForm):
    """What staff set on an app: its scopes as checkboxes, its redirect URIs one per line; the
    services' rules (integrations.services.apps) judge every value."""

    homepage = forms.CharField(max_length=200)
    allowed_scopes = forms.MultipleChoiceField(
        label="Allowed scopes",
        widget=forms.CheckboxSelectMultiple,
        choices=scope_choices,
        help_text="What the app may ask users to allow (its keys get at most these).",
    )

    class Meta:
        model = PartnerApp
        fields = list(apps.STAFF_FIELDS)
        widgets = {"redirect_uris": forms.Textarea({"rows": 3})}
        help_texts = {
            "redirect_uris": "One per line, each a whole https:// address (http only with DEBUG).",
            "rate_limit_per_minute": "Requests per minute; empty: the default of the settings.",
            "proposed_cap": "Credits per 30 days the consent page proposes; users may lower it.",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["redirect_uris"] = redirect_uris_text(self.instance)
            self.initial["allowed_scopes"] = self.instance.allowed_scopes.split()

    def clean(self):
        data = super().clean()
        try:
            self.checked = apps.checked_details(
                {field: data[field] for field in apps.STAFF_FIELDS if field in data}
            )
        except IntegrationError as error:
            add_service_error(self, error)
        return data

    def _post_clean(self):
        # The values go to the service as checked (scopes joined), and the model's own checks
        # run there: the instance is not filled in here.
        pass


class AddPartnerAppForm(RegisterAppForm):
    owner = forms.EmailField(
        label="Owner's e-mail", help_text="The CreditDesk account of the app's developer."
    )
    field_order = ["owner", *RegisterAppForm.field_order]

    def clean_owner(self):
        email = self.cleaned_data["owner"]
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise forms.ValidationError("No CreditDesk account has this address.")
        return user


class ConsentInline(admin.TabularInline):
    """Who allowed the app, with what scopes and cap (read-only: users give and revoke them)."""

    model = Consent
    extra = 0
    can_delete = False
    fields = ["user", "scopes", "cap", "granted_at", "revoked_at"]
    readonly_fields = fields
    ordering = ["-granted_at"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PartnerApp)
class PartnerAppAdmin(AppKeys, StepPages, admin.ModelAdmin):
    form = PartnerAppForm
    list_display = ["name", "user", "status", "requests_30d", "charged_30d", "created"]
    list_filter = ["status"]
    search_fields = ["name", "client_id", "user__email"]
    list_select_related = ["user"]
    ordering = ["status", "name"]
    actions = ["approve_apps", "suspend_apps", "reactivate_apps", "revoke_apps", "release_holds"]
    inlines = [ConsentInline]
    readonly = ["client_id", "owner", "status", "created", "operations", "logo_shown"]
    readonly += ["api_keys", "status_log", "usage"]
    fieldsets = [
        (None, {"fields": ["name", "client_id", "owner", "status", "created", "operations"]}),
        ("Details", {"fields": ["description", "homepage", "logo_shown", "redirect_uris"]}),
        (
            "What it may do",
            {"fields": ["allowed_scopes", "proposed_cap", "rate_limit_per_minute"]},
        ),
        ("Introspection", {"fields": ["may_introspect"]}),
        ("API keys", {"fields": ["api_keys"]}),
        ("Status log", {"fields": ["status_log"]}),
        ("Usage", {"fields": ["usage"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly

    def get_queryset(self, request):
        return with_usage(super().get_queryset(request))

    def has_delete_permission(self, request, obj=None):
        return False

    def has_review_permission(self, request) -> bool:
        return request.user.has_perm(REVIEW_PERMISSION)

    def has_release_holds_permission(self, request) -> bool:
        return request.user.has_perm(RELEASE_PERMISSION)

    # --- the list ----------------------------------------------------------------------------

    @admin.display(description="Requests (30 days)", ordering="requests_30d")
    def requests_30d(self, app: PartnerApp) -> str:
        return f"{app.requests_30d:,}"

    @admin.display(description="Credits charged (30 days)", ordering="charged_30d")
    def charged_30d(self, app: PartnerApp) -> str:
        return f"{app.charged_30d:,}"

    # --- the app's page ----------------------------------------------------------------------

    @admin.display(description="Owner")
    def owner(self, app: PartnerApp) -> str:
        url = reverse("admin:accounts_user_change", args=[app.user_id])
        return format_html("<a href='{}'>{}</a>", url, app.user)

    @admin.display(description="Logo")
    def logo_shown(self, app: PartnerApp) -> str:
        if not app.logo:
            return "None."
        url = reverse("developers:logo", args=[app.pk])
        return format_html("<img src='{}' alt='The logo of {}' width='64' height='64'>", url, app)

    @admin.display(description="Operations")
    def operations(self, app: PartnerApp) -> str:
        buttons = [
            (reverse("admin:integrations_partnerapp_operation", args=[name]), app.pk, op.title)
            for name, op in OPERATIONS.items()
            if op.from_statuses is None or app.status in op.from_statuses
        ]
        return format_html_join(" ", '<a class="button" href="{}?ids={}">{}</a>', buttons)

    @admin.display(description="Status log (newest first)")
    def status_log(self, app: PartnerApp) -> str:
        rows = [
            (
                when(change.changed_at),
                change.from_status or "—",
                change.to_status,
                change.changed_by or "—",
                change.reason,
            )
            for change in app.status_changes.select_related("changed_by")
        ]
        return table(["When (UTC)", "From", "To", "By", "Reason"], rows)

    @admin.display(description="Usage per day (last 30 days, UTC)")
    def usage(self, app: PartnerApp) -> str:
        days = usage_by_day(app)
        return render_to_string(
            "admin/integrations/partnerapp/usage.html",
            {"chart": daily_chart(days), "days": days},
        )

    # --- editing goes through the service ----------------------------------------------------

    def save_model(self, request, obj, form, change):
        changed = {
            field: form.checked[field] for field in form.changed_data if field in form.checked
        }
        if changed:
            apps.update(app=obj, by=request.user, **changed)

    # --- creating an app: services.apps.register, the secret shown once ----------------------

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        once = OnceToken(request, purpose="integrations.app.add")
        if (early := once.answer_early(self.admin_site.each_context(request))) is not None:
            return early
        form = AddPartnerAppForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                app, secret = apps.register(
                    owner=data["owner"],
                    name=data["name"],
                    homepage=data["homepage"],
                    description=data["description"],
                    redirect_uris=data["redirect_uris"],
                    allowed_scopes=data["scopes"],
                    proposed_cap=data["proposed_cap"],
                    logo=data["logo"],
                    by=request.user,
                )
            except IntegrationError as error:
                add_service_error(form, error)
            else:
                self.log_addition(request, app, "Registered in the admin.")
                url = reverse("admin:integrations_partnerapp_change", args=[app.pk])
                once.complete(url=url, label=f"the app {app.name}")
                return self.secret_page(request, app, "The app's client secret", secret)
        return self.step_page(request, "Add a partner app", form, upload=True)

    # --- status changes and releasing holds --------------------------------------------------

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "operation/<str:operation>/",
                view(self.operation_view),
                name="integrations_partnerapp_operation",
            ),
            *self.key_urls(),
            *super().get_urls(),
        ]

    def _start(self, queryset, name: str) -> HttpResponse:
        ids = ",".join(str(pk) for pk in queryset.values_list("pk", flat=True))
        url = reverse("admin:integrations_partnerapp_operation", args=[name])
        return redirect(f"{url}?ids={ids}")

    @admin.action(description="Approve the selected (pending) apps", permissions=["review"])
    def approve_apps(self, request, queryset):
        return self._start(queryset, "approve")

    @admin.action(description="Suspend the selected apps", permissions=["review"])
    def suspend_apps(self, request, queryset):
        return self._start(queryset, "suspend")

    @admin.action(description="Reactivate the selected (suspended) apps", permissions=["review"])
    def reactivate_apps(self, request, queryset):
        return self._start(queryset, "reactivate")

    @admin.action(description="Revoke the selected apps (final)", permissions=["review"])
    def revoke_apps(self, request, queryset):
        return self._start(queryset, "revoke")

    @admin.action(
        description="Release all open holds of the selected apps", permissions=["release_holds"]
    )
    def release_holds(self, request, queryset):
        return self._start(queryset, "release_holds")

    def operation_view(self, request: HttpRequest, operation: str) -> HttpResponse:
        """The intermediate page of a status change or a release: the apps, a reason, the run."""
        if operation not in OPERATIONS or not request.user.has_perm(
            OPERATIONS[operation].permission
        ):
            raise PermissionDenied
        op = OPERATIONS[operation]
        ids = [int(pk) for pk in request.GET.get("ids", "").split(",") if pk.isdecimal()]
        chosen = list(PartnerApp.objects.filter(pk__in=ids).select_related("user").order_by("pk"))
        if not chosen:
            self.message_user(request, "Select at least one app.", messages.WARNING)
            return redirect("admin:integrations_partnerapp_changelist")
        key = ",".join(str(app.pk) for app in chosen)
        once = OnceToken(request, purpose=f"integrations.app.{operation}:{key}")
        if (early := once.answer_early(self.admin_site.each_context(request))) is not None:
            return early
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            if self._run(request, op, chosen, form.cleaned_data["reason"]):
                url = reverse("admin:integrations_partnerapp_changelist") + f"?id__in={key}"
                once.complete(url=url, label=f"{op.title.lower()} for {len(chosen)} app(s)")
            if len(chosen) == 1:
                return redirect("admin:integrations_partnerapp_change", chosen[0].pk)
            return redirect("admin:integrations_partnerapp_changelist")
        rows = [(app, app.get_status_display(), open_holds_of(app).count()) for app in chosen]
        return self.step_page(request, op.title, form, apps_shown=rows)

    def _run(self, request, op: Operation, chosen: list[PartnerApp], reason: str) -> int:
        """Apply `op` to each app; one message per app. Returns how many were done."""
        done = 0
        for app in chosen:
            try:
                if op.to is None:
                    released = apps.release_open_holds(app=app, reason=reason, by=request.user)
                    self.message_user(
                        request, f"{app}: {released} open hold(s) released.", messages.SUCCESS
                    )
                elif app.status not in op.from_statuses:
                    self.message_user(
                        request,
                        f"{app} is {app.get_status_display().lower()}: "
                        f"{op.title.lower()} does not apply to it.",
                        messages.ERROR,
                    )
                    continue
                else:
                    apps.change_status(app=app, to=op.to, reason=reason, by=request.user)
                    self.log_change(request, app, f"Status: {op.to}. {reason}")
                    self.message_user(
                        request, f"{app} is now {Status(op.to).label.lower()}.", messages.SUCCESS
                    )
            except (IntegrationError, CreditError) as error:
                self.message_user(request, f"{app}: {error.message}", messages.ERROR)
                continue
            done += 1
        return done
