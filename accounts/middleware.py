"""Request guards for signed-in users: sessions end when too old or idle; staff pages need
two-factor."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect

from accounts import sessions
from core.two_factor import StaffTwoFactorRequired, has_totp, is_staff_page, passed_two_factor

API_PREFIX = "/api/"

# Where a staff member sent to enrol was going; the pages after enrolment offer the way back.
RETURN_TO_SESSION_KEY = "accounts_two_factor_return_to"
# The admin's own sign-in and sign-out stay open, so nobody is trapped in a redirect loop.
OPEN_ADMIN_VIEWS = {"login", "logout"}


class SessionLimitsMiddleware:
    """A session past its lifetime, or idle too long, is signed out: a page sends the person
    to sign in again with a message saying why; the API goes on anonymously, so it answers 401.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        reason = sessions.end_if_over(request)
        if reason is None or request.path.startswith(API_PREFIX):
            return self.get_response(request)
        messages.info(request, f"You were signed out {reason}. Sign in again to continue.")
        if request.headers.get("HX-Request") == "true":
            return HttpResponseClientRedirect(redirect_to_login(request.get_full_path()).url)
        return redirect_to_login(request.get_full_path())


class StaffTwoFactorMiddleware:
    """Every staff page (the admin, /admin/ and below, and the pages marked with
    `core.two_factor.staff_page`) needs a session that passed two-factor.

    A staff member without an authenticator app is sent to enrol (allauth's TOTP activation);
    one who has it but whose session did not use it (say, enrolled after signing in elsewhere)
    is sent to allauth's re-authentication with a code, and then back. Everything outside the
    admin (allauth's own pages, sign-out, static files) is untouched, and so are other users:
    the admin refuses them itself.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if match is None or match.url_name in OPEN_ADMIN_VIEWS:
            return None
        if match.app_name != "admin" and not is_staff_page(view_func):
            return None
        user = request.user
        if not (user.is_authenticated and user.is_staff and user.is_active):
            return None
        if not (has_totp(user) and passed_two_factor(request)):
            return self.ask_for_two_factor(request, request.get_full_path())
        if RETURN_TO_SESSION_KEY in request.session:
            del request.session[RETURN_TO_SESSION_KEY]
        return None

    def process_exception(self, request: HttpRequest, exception: Exception):
        """A page that reached for a staff power mid-way (a job that is not the user's own)."""
        if isinstance(exception, StaffTwoFactorRequired):
            return self.ask_for_two_factor(request, exception.next_url)
        return None

    @staticmethod
    def ask_for_two_factor(request: HttpRequest, next_url: str) -> HttpResponse:
        """Without an authenticator: enrol first; with one this session did not use: a code."""
        if not has_totp(request.user):
            request.session[RETURN_TO_SESSION_KEY] = next_url
            messages.info(
                request,
                "Staff pages need two-factor authentication: set up an authenticator app "
                "to continue.",
            )
            return redirect("mfa_activate_totp")
        messages.info(request, "Enter a code from your authenticator app to open the staff pages.")
        query = urlencode({"next": next_url})
        return redirect(f"{reverse('mfa_reauthenticate')}?{query}")
