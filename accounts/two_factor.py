"""Whether a session passed two-factor: staff powers need it (pages and the staff API)."""

from allauth.account.authentication import get_authentication_records
from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from django.http import HttpRequest


def passed_two_factor(request: HttpRequest) -> bool:
    """True when this session's sign-in (or a later re-authentication) used a second factor.

    allauth records each authentication step in the session. A token-authenticated API call
    never counts, even when it also carries the cookie of a session that passed: DRF's
    `request.auth` is then the ApiToken (a session leaves it None).
    """
    if getattr(request, "auth", None) is not None:
        return False
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(request, "session"):
        return False
    records = get_authentication_records(request, user)
    return any(record.get("method") == "mfa" for record in records)


def has_totp(user) -> bool:
    """Whether the user has an authenticator app enrolled (allauth's TOTP)."""
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def totp_of(user) -> Authenticator | None:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()


def record_enrolment(request: HttpRequest, authenticator: Authenticator | None) -> None:
    """Record, as allauth does after a code is accepted, that this session used `authenticator`
    (its activation checked a code from it)."""
    user = getattr(request, "user", None)
    if authenticator is None or user is None or not user.is_authenticated:
        return
    if user.pk != authenticator.user_id:
        return
    record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)
