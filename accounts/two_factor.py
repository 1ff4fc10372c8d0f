"""Two-factor for staff: who has an authenticator, and recording an enrolment as a passed second
factor. Whether a session passed it is core.two_factor.passed_two_factor."""

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from django.http import HttpRequest


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
