"""The user's connected apps: a section of the Account page, and revoking one.

accounts sits below integrations and imports nothing of it: its Account page renders the
sections settings.ACCOUNT_PAGE_SECTIONS names (callables: request → HTML), and this module
provides one of them.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from integrations.errors import ConsentRequired
from integrations.services import consents


def connected_apps_section(request: HttpRequest) -> str:
    """The Account page's "Connected apps" section."""
    context = {"connected": consents.connected_apps(user=request.user)}
    return render_to_string("integrations/connected_apps.html", context, request=request)


@never_cache
@require_POST
def revoke(request: HttpRequest) -> HttpResponse:
    """Revoke a connected app: the first POST asks to confirm, the second (with `confirmed`)
    revokes and goes back to the Account page."""
    consent_id = request.POST.get("consent", "")
    found = consent_id.isdecimal() and next(
        (
            app
            for app in consents.connected_apps(user=request.user)
            if app.consent.pk == int(consent_id)
        ),
        None,
    )
    if not found:
        messages.error(request, "You have no such connected app: nothing was revoked.")
        return redirect("accounts:profile")
    if request.POST.get("confirmed") != "yes":
        return render(request, "integrations/revoke_confirm.html", {"connected": found})
    try:
        consent = consents.revoke_for(user=request.user, consent_id=int(consent_id))
    except ConsentRequired as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"{consent.app.name} can no longer act for you: its access was revoked.",
        )
    return redirect("accounts:profile")
