from allauth.mfa.totp import views as allauth_totp_views
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts import selectors, services, two_factor
from accounts.errors import ApiTokenInvalid, ApiTokenNotFound
from accounts.forms import ApiTokenForm, ProfileForm

TOKEN_FORM_PREFIX = "token"  # noqa: S105 (a form prefix; the profile form has a `name` too)


def _render_profile(request, *, form=None, token_form=None, new_token=None, status=200):
    context = {
        "form": form or ProfileForm(instance=request.user),
        "token_form": token_form or ApiTokenForm(prefix=TOKEN_FORM_PREFIX),
        "api_tokens": selectors.live_api_tokens(user=request.user),
        "new_token": new_token,
        "now": timezone.now(),
        # What apps above accounts show on this page (their own sections, rendered by them).
        "sections": [import_string(path)(request) for path in settings.ACCOUNT_PAGE_SECTIONS],
    }
    return render(request, "accounts/profile.html", context, status=status)


@never_cache
def profile(request: HttpRequest) -> HttpResponse:
    """See and edit one's name; links to e-mail, password and two-factor; the API tokens."""
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.update_profile(user=request.user, name=form.cleaned_data["name"])
        messages.success(request, "Your name has been saved.")
        return redirect("accounts:profile")
    return _render_profile(request, form=form)


@never_cache
@require_POST
def create_api_token(request: HttpRequest) -> HttpResponse:
    """Create a token and show it in this response only: it is stored nowhere (not even in the
    session), so it can never be shown again."""
    token_form = ApiTokenForm(request.POST, prefix=TOKEN_FORM_PREFIX)
    if not token_form.is_valid():
        return _render_profile(request, token_form=token_form)
    try:
        created = services.create_api_token(
            user=request.user,
            name=token_form.cleaned_data["name"],
            expires_at=token_form.expires_at,
        )
    except ApiTokenInvalid as error:
        token_form.add_error(error.field and _form_field(error.field), error.message)
        return _render_profile(request, token_form=token_form)
    return _render_profile(request, new_token=created)


def _form_field(service_field: str) -> str:
    return {"expires_at": "expires_on"}.get(service_field, service_field)


@require_POST
def revoke_api_token(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        token = services.revoke_api_token(user=request.user, token_id=token_id)
    except ApiTokenNotFound as error:
        messages.error(request, error.message)
    else:
        revoked = f"The token \u201c{token.name}\u201d was revoked; programs using it are refused."
        messages.success(request, revoked)
    return redirect("accounts:profile")


class ActivateTOTPView(allauth_totp_views.ActivateTOTPView):
    """allauth's TOTP activation, and then this session counts as having used a second factor
    (the activation checked a code from the new authenticator), so a staff member who enrols on
    the way to a staff page is not asked for another code at once."""

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        two_factor.record_enrolment(self.request, two_factor.totp_of(self.request.user))
        return response


activate_totp = ActivateTOTPView.as_view()
