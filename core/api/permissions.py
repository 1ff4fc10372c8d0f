"""The one gate of every staff endpoint: staff, two-factor session, the admin's permissions."""

from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission

from core.two_factor import staff_may_act


class StaffPermission(BasePermission):
    """The one gate of every staff endpoint (/api/v1/admin/).

    The caller must be an active staff member, signed in with a session that passed two-factor
    (a long-lived token never reaches staff powers), holding the Django model permissions the
    view declares for the method in `required_permissions` — the same ones the admin asks for
    the same act. A view that declares none for a method refuses it: the gate fails closed.
    """

    def has_permission(self, request, view) -> bool:
        required = required_permissions(view, request.method)
        if required is None:
            raise exceptions.PermissionDenied("This staff endpoint declares no permission.")
        user = request.user
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            raise exceptions.PermissionDenied("Staff only.")
        if not isinstance(request.successful_authenticator, SessionAuthentication) or not (
            staff_may_act(request._request)
        ):
            raise exceptions.PermissionDenied(
                "Staff endpoints need a signed-in session that passed two-factor; API tokens "
                "are not accepted here.",
                code="two_factor_required",
            )
        missing = [name for name in required if not user.has_perm(name)]
        if missing:
            raise exceptions.PermissionDenied(
                f"You need the permission {', '.join(missing)} for this.",
                code="permission_denied",
            )
        return True


def required_permissions(view, method: str) -> tuple[str, ...] | None:
    """The permissions a staff view declares for `method` (HEAD and OPTIONS read as GET)."""
    declared = getattr(view, "required_permissions", None) or {}
    method = "GET" if method in ("HEAD", "OPTIONS") else method
    found = declared.get(method)
    if found is None:
        return None
    return (found,) if isinstance(found, str) else tuple(found)
