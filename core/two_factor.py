"""Whether a session passed two-factor: staff powers need it (pages and the staff API)."""

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.http import HttpRequest


class StaffTwoFactorRequired(Exception):
    """Raised by a page that finds it is about to use a staff power (a job that is not the
    user's own) in a session that has not passed two-factor. accounts' StaffTwoFactorMiddleware
    answers it as it answers a staff page: enrol or re-authenticate, then back to `next_url`."""

    def __init__(self, next_url: str):
        super().__init__(next_url)
        self.next_url = next_url


def staff_page(view):
    """Mark a page outside the admin as a staff page (the jobs work queue, delivering): for a
    staff member it needs two-factor, as the admin does (accounts' StaffTwoFactorMiddleware)."""
    view.staff_page = True
    return view


def is_staff_page(view) -> bool:
    return getattr(view, "staff_page", False)


def has_totp(user) -> bool:
    """Whether the user has an authenticator app enrolled (allauth's TOTP)."""
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def staff_may_act(request: HttpRequest) -> bool:
    """The one test staff pages and the staff API both apply: an authenticator enrolled, and
    this session passed it (removing it in the session ends staff powers there too)."""
    return has_totp(request.user) and passed_two_factor(request)


def passed_two_factor(request: HttpRequest) -> bool:
    """True when this session's sign-in (or a later re-authentication) used a second factor.

    allauth records each authentication step in the session. A token-authenticated API call
    never counts, even when it also carries the cookie of a session that passed: DRF's
    `request.auth` is then the token (a session leaves it None).
    """
    if getattr(request, "auth", None) is not None:
        return False
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "session"):
        return False
    records = get_authentication_records(request, user)
    return any(record.get("method") == "mfa" for record in records)
