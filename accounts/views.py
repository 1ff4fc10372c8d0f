from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from rest_framework.authtoken.models import Token

from accounts import services
from accounts.forms import ProfileForm

# The new token is kept in the session just long enough to be shown once.
NEW_TOKEN_SESSION_KEY = "accounts_new_api_token"  # noqa: S105 (a session key name)


def profile(request: HttpRequest) -> HttpResponse:
    """See and edit one's name; links to e-mail, password, two-factor and the API token."""
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.update_profile(user=request.user, name=form.cleaned_data["name"])
        messages.success(request, "Your name has been saved.")
        return redirect("accounts:profile")
    context = {
        "form": form,
        "has_api_token": Token.objects.filter(user=request.user).exists(),
        "new_api_token": request.session.pop(NEW_TOKEN_SESSION_KEY, None),
    }
    return render(request, "accounts/profile.html", context)


def rotate_api_token(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("accounts:profile")
    token = services.rotate_api_token(user=request.user)
    request.session[NEW_TOKEN_SESSION_KEY] = token.key
    messages.success(request, "A new API token was created; any earlier token no longer works.")
    return redirect("accounts:profile")


def revoke_api_token(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return redirect("accounts:profile")
    if services.revoke_api_token(user=request.user):
        messages.success(request, "Your API token was revoked; programs using it are refused.")
    return redirect("accounts:profile")
