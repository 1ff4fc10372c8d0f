from django.http import HttpRequest

from accounts.middleware import RETURN_TO_SESSION_KEY


def two_factor_return(request: HttpRequest) -> dict:
    """Where a staff member sent to enrol in two-factor was going (the staff page), if anywhere."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff:
        return {}
    return {"two_factor_return_to": request.session.get(RETURN_TO_SESSION_KEY)}
