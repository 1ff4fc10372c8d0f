"""An app's API keys on its admin page: the table, and creating, rotating and revoking a key,
each through integrations.services.keys with a form that acts once; a new key is shown once."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.once import OnceToken
from integrations.admin.pages import key_state, table, when
from integrations.errors import IntegrationError
from integrations.forms import ConfirmForm, KeyForm, RotateKeyForm, add_service_error
from integrations.models import AppKey, PartnerApp
from integrations.services import keys

Status = PartnerApp.Status


class AppKeys:
    """The keys part of PartnerAppAdmin (with StepPages): creating or rotating a key needs
    `add_appkey`, rotating or revoking one `change_appkey`."""

    def key_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path(
                "<int:app_id>/keys/new/",
                view(self.create_key_view),
                name="integrations_partnerapp_create_key",
            ),
            path(
                "<int:app_id>/keys/<int:key_id>/rotate/",
                view(self.rotate_key_view),
                name="integrations_partnerapp_rotate_key",
            ),
            path(
                "<int:app_id>/keys/<int:key_id>/revoke/",
                view(self.revoke_key_view),
                name="integrations_partnerapp_revoke_key",
            ),
        ]

    @admin.display(description="API keys")
    def api_keys(self, app: PartnerApp) -> str:
        rows = []
        for key in app.keys.order_by("-created_at", "-id"):
            usable = key.is_usable()
            links = []
            if usable and key.replaced_by_id is None and app.status != Status.REVOKED:
                links.append(("integrations_partnerapp_rotate_key", "Rotate"))
            if usable:
                links.append(("integrations_partnerapp_revoke_key", "Revoke"))
            rows.append(
                (
                    key.name,
                    f"{key.prefix}…",
                    key.scopes,
                    when(key.created_at),
                    when(key.expires_at) or "never",
                    when(key.last_used_at) or "never",
                    key_state(key, usable),
                    format_html_join(
                        " ",
                        "<a href='{}'>{}</a>",
                        (
                            (reverse(f"admin:{name}", args=[app.pk, key.pk]), label)
                            for name, label in links
                        ),
                    ),
                )
            )
        create = ""
        if app.status != Status.REVOKED:
            url = reverse("admin:integrations_partnerapp_create_key", args=[app.pk])
            create = format_html("<p><a class='button' href='{}'>Create a key</a></p>", url)
        headers = ["Name", "Starts with", "Scopes", "Created (UTC)", "Expires (UTC)"]
        headers += ["Last used (UTC)", "State", "Actions"]
        return format_html("{}{}", table(headers, rows), create)

    def _app_for_keys(self, request, app_id: int, permissions: tuple[str, ...]) -> PartnerApp:
        if not all(request.user.has_perm(f"integrations.{name}") for name in permissions):
            raise PermissionDenied
        return get_object_or_404(PartnerApp, pk=app_id)

    def create_key_view(self, request: HttpRequest, app_id: int) -> HttpResponse:
        app = self._app_for_keys(request, app_id, ("add_appkey",))
        once = OnceToken(request, purpose=f"integrations.app.key:{app.pk}")
        if (early := once.answer_early(self.admin_site.each_context(request))) is not None:
            return early
        form = KeyForm(request.POST or None, app=app)
        if request.method == "POST" and form.is_valid():
            try:
                new = keys.create(
                    app=app,
                    name=form.cleaned_data["name"],
                    scope_names=form.cleaned_data["scopes"],
                    expires_at=form.expires_at,
                    by=request.user,
                )
            except IntegrationError as error:
                add_service_error(form, error)
            else:
                self.log_change(request, app, f"Created the API key {new.key}.")
                once.complete(url=self.change_url(app), label=f"the key {new.key}")
                return self.secret_page(request, app, f"The new key {new.key}", new.secret)
        return self.step_page(request, f"Create a key for {app}", form, app=app)

    def rotate_key_view(self, request: HttpRequest, app_id: int, key_id: int) -> HttpResponse:
        app = self._app_for_keys(request, app_id, ("add_appkey", "change_appkey"))
        key = get_object_or_404(AppKey, pk=key_id, app=app)
        once = OnceToken(request, purpose=f"integrations.app.rotate:{key.pk}")
        if (early := once.answer_early(self.admin_site.each_context(request))) is not None:
            return early
        form = RotateKeyForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                new = keys.rotate(
                    key=key, overlap_hours=form.cleaned_data["overlap_hours"], by=request.user
                )
            except IntegrationError as error:
                add_service_error(form, error)
            else:
                self.log_change(request, app, f"Rotated the API key {key} into {new.key}.")
                once.complete(url=self.change_url(app), label=f"the rotation of {key}")
                return self.secret_page(request, app, f"The new key {new.key}", new.secret)
        return self.step_page(request, f"Rotate the key {key}", form, app=app)

    def revoke_key_view(self, request: HttpRequest, app_id: int, key_id: int) -> HttpResponse:
        app = self._app_for_keys(request, app_id, ("change_appkey",))
        key = get_object_or_404(AppKey, pk=key_id, app=app)
        once = OnceToken(request, purpose=f"integrations.app.revoke:{key.pk}")
        if (early := once.answer_early(self.admin_site.each_context(request))) is not None:
            return early
        form = ConfirmForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            keys.revoke(key=key)
            self.log_change(request, app, f"Revoked the API key {key}.")
            once.complete(url=self.change_url(app), label=f"the revocation of {key}")
            self.message_user(request, f"The key {key} is revoked: it stops now.")
            return redirect(self.change_url(app))
        return self.step_page(request, f"Revoke the key {key}", form, app=app)
