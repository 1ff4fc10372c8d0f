"""The Developers page: a user's own partner apps, registering one, its details and its API
keys. Every form acts once (core/once.py): sent again after Back or a reload, it says it was
done and changes nothing, and a secret (the client secret, a key) is in that one response only.
Only the owner reaches an app (404 for anyone else)."""

from datetime import UTC, datetime

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from core.once import OnceToken
from integrations import scopes
from integrations.errors import IntegrationError
from integrations.forms import (
    AppDetailsForm,
    ConfirmForm,
    KeyForm,
    RegisterAppForm,
    RotateKeyForm,
    add_service_error,
    redirect_uris_text,
)
from integrations.models import AppKey, PartnerApp
from integrations.services import apps, keys

ONCE_DONE = "once_done.html"
LOGO_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}


def _own_app(request: HttpRequest, app_id: int) -> PartnerApp:
    return get_object_or_404(PartnerApp, pk=app_id, user=request.user)


def _own_key(app: PartnerApp, key_id: int) -> AppKey:
    return get_object_or_404(AppKey, pk=key_id, app=app)


def _detail_url(app: PartnerApp) -> str:
    return reverse("developers:app", args=[app.pk])


def index(request: HttpRequest) -> HttpResponse:
    own = PartnerApp.objects.filter(user=request.user).order_by("name", "pk")
    return render(request, "integrations/index.html", {"apps": own})


@never_cache
def register(request: HttpRequest) -> HttpResponse:
    once = OnceToken(request, purpose="developers.register")
    if (early := once.answer_early({}, ONCE_DONE)) is not None:
        return early
    form = RegisterAppForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            app, secret = apps.register(
                owner=request.user,
                name=data["name"],
                homepage=data["homepage"],
                description=data["description"],
                redirect_uris=data["redirect_uris"],
                allowed_scopes=data["scopes"],
                proposed_cap=data["proposed_cap"],
                logo=data["logo"],
            )
        except IntegrationError as error:
            add_service_error(form, error)
        else:
            once.complete(url=_detail_url(app), label=f"the app {app.name}")
            # Shown in this response only: the secret is stored nowhere but as a hash.
            return render(
                request, "integrations/registered.html", {"app": app, "client_secret": secret}
            )
    return render(request, "integrations/register.html", {"form": form})


def app_detail(request: HttpRequest, app_id: int) -> HttpResponse:
    app = _own_app(request, app_id)
    now = datetime.now(UTC)
    context = {
        "app": app,
        "log": app.status_changes.all(),
        "keys": [(key, key.is_usable(now)) for key in app.keys.order_by("-created_at", "-id")],
        "may_edit": app.status in apps.OWNER_MAY_EDIT,
        "may_add_keys": app.status != PartnerApp.Status.REVOKED,
        "redirect_uris": app.redirect_uris.split(),
        "scopes": scopes.described(app.allowed_scopes),
        "webhook_endpoints": app.webhook_endpoints.order_by("-created_at", "-id"),
        "now": now,
    }
    return render(request, "integrations/app.html", context)


@never_cache
def edit(request: HttpRequest, app_id: int) -> HttpResponse:
    app = _own_app(request, app_id)
    once = OnceToken(request, purpose=f"developers.edit:{app.pk}")
    if (early := once.answer_early({}, ONCE_DONE)) is not None:
        return early
    initial = {"description": app.description, "redirect_uris": redirect_uris_text(app)}
    form = AppDetailsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            apps.update(app=app, by=request.user, owner=True, **form.cleaned_data)
        except IntegrationError as error:
            add_service_error(form, error)
        else:
            once.complete(url=_detail_url(app), label=f"the details of {app.name}")
            messages.success(request, "The app's details are saved.")
            return redirect(_detail_url(app))
    return render(request, "integrations/edit.html", {"app": app, "form": form})


@never_cache
def create_key(request: HttpRequest, app_id: int) -> HttpResponse:
    app = _own_app(request, app_id)
    once = OnceToken(request, purpose=f"developers.key:{app.pk}")
    if (early := once.answer_early({}, ONCE_DONE)) is not None:
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
            once.complete(url=_detail_url(app), label=f"the key {new.key.name}")
            return render(request, "integrations/new_key.html", {"app": app, "new": new})
    return render(request, "integrations/key_form.html", {"app": app, "form": form})


@never_cache
def rotate_key(request: HttpRequest, app_id: int, key_id: int) -> HttpResponse:
    app = _own_app(request, app_id)
    key = _own_key(app, key_id)
    once = OnceToken(request, purpose=f"developers.rotate:{key.pk}")
    if (early := once.answer_early({}, ONCE_DONE)) is not None:
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
            once.complete(url=_detail_url(app), label=f"the rotation of {key.name}")
            key.refresh_from_db()
            context = {"app": app, "new": new, "old": key}
            return render(request, "integrations/new_key.html", context)
    context = {"app": app, "key": key, "form": form}
    return render(request, "integrations/rotate_key.html", context)


@never_cache
def revoke_key(request: HttpRequest, app_id: int, key_id: int) -> HttpResponse:
    app = _own_app(request, app_id)
    key = _own_key(app, key_id)
    once = OnceToken(request, purpose=f"developers.revoke:{key.pk}")
    if (early := once.answer_early({}, ONCE_DONE)) is not None:
        return early
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        keys.revoke(key=key)
        once.complete(url=_detail_url(app), label=f"the revocation of {key.name}")
        messages.success(request, f"The key \u201c{key.name}\u201d is revoked: it stops now.")
        return redirect(_detail_url(app))
    return render(request, "integrations/revoke_key.html", {"app": app, "key": key, "form": form})


def logo(request: HttpRequest, app_id: int) -> FileResponse:
    """An app's logo: to its owner, to staff, and to anyone signed in once the app is approved
    (the consent page shows it). Stored under a name of ours with its sniffed type's extension;
    sent as that image type, never sniffed by the browser."""
    app = get_object_or_404(PartnerApp, pk=app_id)
    may_see = (
        app.user_id == request.user.pk
        or request.user.is_staff
        or app.status == PartnerApp.Status.APPROVED
    )
    extension = app.logo.name.rsplit(".", 1)[-1] if app.logo else ""
    if not may_see or extension not in LOGO_CONTENT_TYPES:
        raise Http404("No such logo.")
    response = FileResponse(app.logo.open("rb"), content_type=LOGO_CONTENT_TYPES[extension])
    response["X-Content-Type-Options"] = "nosniff"
    return response


def callback(request: HttpRequest) -> HttpResponse:
    """Where the demo app's sign-in comes back under `make run`: shows the authorization code
    (or the error) to exchange by hand, as docs/partners.md does with curl. A real app's
    redirect URI is its own server's."""
    context = {name: request.GET.get(name, "")[:500] for name in ("code", "state", "error")}
    context["error_description"] = request.GET.get("error_description", "")[:500]
    return render(request, "integrations/callback.html", context)
