"""The Developers pages of an app's webhook endpoints: adding one (its secret shown once),
its page with the delivery log, rotating its secret, disabling, enabling and deleting it, and
resending one event or everything since a time. Only the app's owner reaches them (404 for
anyone else); every form acts once (core/once.py). Also the demo receiver `make run` sends the
demo app's deliveries to."""

import hmac

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core.once import OnceToken
from core.pagination import paginate
from core.text import counted
from integrations.errors import IntegrationError
from integrations.forms import (
    ConfirmForm,
    ResendSinceForm,
    WebhookEndpointForm,
    add_service_error,
)
from integrations.models import PartnerApp, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integrations.services import webhook_deliveries, webhooks

ONCE_DONE = "once_done.html"


def _own_endpoint(request: HttpRequest, app_id: int, endpoint_id: int) -> WebhookEndpoint:
    return get_object_or_404(
        WebhookEndpoint.objects.select_related("app"),
        pk=endpoint_id,
        app_id=app_id,
        app__user=request.user,
    )


def _endpoint_url(endpoint: WebhookEndpoint) -> str:
    return reverse("developers:webhook", args=[endpoint.app_id, endpoint.pk])


@never_cache
def create(request: HttpRequest, app_id: int) -> HttpResponse:
    app = get_object_or_404(PartnerApp, pk=app_id, user=request.user)
    once = OnceToken(request, purpose=f"developers.webhook:{app.pk}")
    if (early := once.answer_early({}, ONCE_DONE)) is not None:
        return early
    form = WebhookEndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            new = webhooks.create(app=app, **form.cleaned_data)
        except IntegrationError as error:
            add_service_error(form, error)
        else:
            once.complete(url=_endpoint_url(new.endpoint), label=f"the endpoint {new.endpoint}")
            context = {"app": app, "endpoint": new.endpoint, "secret": new.secret}
            return render(request, "integrations/webhook_secret.html", context)
    return render(request, "integrations/webhook_form.html", {"app": app, "form": form})


def detail(request: HttpRequest, app_id: int, endpoint_id: int) -> HttpResponse:
    endpoint = _own_endpoint(request, app_id, endpoint_id)
    deliveries = (
        WebhookDelivery.objects.filter(endpoint=endpoint)
        .select_related("event")
        .prefetch_related(
            Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("-at", "-id"))
        )
        .order_by("-created_at", "-id")
    )
    page = paginate(request, deliveries)
    context = {
        "app": endpoint.app,
        "endpoint": endpoint,
        "event_types": endpoint.event_types(),
        "page": page,
        "rows": [(delivery, delivery.attempt_log.all()[:1]) for delivery in page],
        "rotating_until": endpoint.previous_secret_expires_at
        if endpoint.previous_secret_expires_at
        and endpoint.previous_secret_expires_at > timezone.now()
        else None,
    }
    return render(request, "integrations/webhook.html", context)


@never_cache
def rotate(request: HttpRequest, app_id: int, endpoint_id: int) -> HttpResponse:
    endpoint = _own_endpoint(request, app_id, endpoint_id)
    once = OnceToken(request, purpose=f"developers.webhook-rotate:{endpoint.pk}")
    if (early := once.answer_early({}, ONCE_DONE)) is not None:
        return early
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        new = webhooks.rotate_secret(endpoint=endpoint)
        once.complete(url=_endpoint_url(endpoint), label="the rotation of the secret")
        context = {"app": endpoint.app, "endpoint": new.endpoint, "secret": new.secret}
        return render(request, "integrations/webhook_secret.html", context)
    return _confirm(request, endpoint, form, "rotate")


# What each confirmation page says, and the service it calls.
STEPS = {
    "rotate": (
        "Rotate the signing secret",
        "A new secret is made and shown once. For 24 hours every delivery is signed with both "
        "the old and the new secret, so you can deploy the new one first; then only the new one.",
        "Rotate the secret",
    ),
    "disable": (
        "Disable the endpoint",
        "Nothing is sent to it until you enable it again; events that happen meanwhile are not "
        "kept for it (resend them afterwards with \u201cresend everything since\u201d).",
        "Disable the endpoint",
    ),
    "enable": (
        "Enable the endpoint",
        "Events are sent to it again from now on.",
        "Enable the endpoint",
    ),
    "delete": (
        "Delete the endpoint",
        "The endpoint, its secret and its delivery log are deleted. This cannot be undone.",
        "Delete the endpoint",
    ),
}


def _confirm(request, endpoint, form, step: str, **extra) -> HttpResponse:
    title, words, button = STEPS[step]
    context = {"app": endpoint.app, "endpoint": endpoint, "form": form, "title": title}
    context |= {"words": words, "button": button, "danger": step in ("disable", "delete")}
    return render(request, "integrations/webhook_confirm.html", context | extra)


@never_cache
def toggle(request: HttpRequest, app_id: int, endpoint_id: int, step: str) -> HttpResponse:
    endpoint = _own_endpoint(request, app_id, endpoint_id)
    once = OnceToken(request, purpose=f"developers.webhook-{step}:{endpoint.pk}")
    if (early := once.answer_early({}, ONCE_DONE)) is not None:
        return early
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        if step == "disable":
            webhooks.disable(
                endpoint=endpoint, reason="Disabled by the app's owner.", by_owner=True
            )
            messages.success(request, "The endpoint is disabled.")
        else:
            webhooks.enable(endpoint=endpoint)
            messages.success(request, "The endpoint is enabled.")
        once.complete(url=_endpoint_url(endpoint), label=f"the endpoint {endpoint}")
        return redirect(_endpoint_url(endpoint))
    return _confirm(request, endpoint, form, step)


@never_cache
def delete(request: HttpRequest, app_id: int, endpoint_id: int) -> HttpResponse:
    endpoint = _own_endpoint(request, app_id, endpoint_id)
    once = OnceToken(request, purpose=f"developers.webhook-delete:{endpoint.pk}")
    if (early := once.answer_early({}, ONCE_DONE)) is not None:
        return early
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        app_url = reverse("developers:app", args=[endpoint.app_id])
        webhooks.delete(endpoint=endpoint)
        once.complete(url=app_url, label="the deletion of the endpoint")
        messages.success(request, f"The endpoint {endpoint.url} is deleted.")
        return redirect(app_url)
    return _confirm(request, endpoint, form, "delete")


@never_cache
def resend(request: HttpRequest, app_id: int, endpoint_id: int, delivery_id: int) -> HttpResponse:
    endpoint = _own_endpoint(request, app_id, endpoint_id)
    delivery = get_object_or_404(
        WebhookDelivery.objects.select_related("event"), pk=delivery_id, endpoint=endpoint
    )
    once = OnceToken(request, purpose=f"developers.webhook-resend:{delivery.pk}")
    if (early := once.answer_early({}, ONCE_DONE)) is not None:
        return early
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            webhook_deliveries.resend(endpoint=endpoint, event=delivery.event)
        except IntegrationError as error:
            add_service_error(form, error)
        else:
            once.complete(url=_endpoint_url(endpoint), label="the resend")
            messages.success(request, f"{delivery.event.webhook_id} is being sent again.")
            return redirect(_endpoint_url(endpoint))
    context = {"app": endpoint.app, "endpoint": endpoint, "form": form, "delivery": delivery}
    return render(request, "integrations/webhook_resend.html", context)


@never_cache
def resend_since(request: HttpRequest, app_id: int, endpoint_id: int) -> HttpResponse:
    endpoint = _own_endpoint(request, app_id, endpoint_id)
    once = OnceToken(request, purpose=f"developers.webhook-resend-since:{endpoint.pk}")
    if (early := once.answer_early({}, ONCE_DONE)) is not None:
        return early
    form = ResendSinceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            count = webhook_deliveries.resend_since(
                endpoint=endpoint, since=form.cleaned_data["since"]
            )
        except IntegrationError as error:
            add_service_error(form, error)
        else:
            once.complete(url=_endpoint_url(endpoint), label="the resend")
            verb = "is" if count == 1 else "are"
            messages.success(request, f"{counted(count, 'event')} {verb} being sent again.")
            return redirect(_endpoint_url(endpoint))
    context = {"app": endpoint.app, "endpoint": endpoint, "form": form}
    return render(request, "integrations/webhook_resend_since.html", context)


@login_not_required
@csrf_exempt
@require_POST
def demo_receiver(request: HttpRequest) -> HttpResponse:
    """Where the demo app's endpoint points under `make run` (allow-listed in development):
    answers 204 to a delivery signed by one of the demo endpoint's secrets, 400 otherwise."""
    from integrations.demo import demo_endpoint

    endpoint = demo_endpoint()
    if endpoint is None:
        raise Http404("No demo endpoint.")
    msg_id = request.headers.get("webhook-id", "")
    timestamp = request.headers.get("webhook-timestamp", "")
    given = request.headers.get("webhook-signature", "").split(" ")
    for secret in webhooks.signing_secrets(endpoint, now=timezone.now()):
        expected = webhooks.sign(secret, msg_id=msg_id, timestamp=timestamp, body=request.body)
        if any(hmac.compare_digest(expected, signature) for signature in given):
            return HttpResponse(status=204)
    return HttpResponse("The signature does not verify.", status=400, content_type="text/plain")
