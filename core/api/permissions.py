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


class PartnerScopePermission(BasePermission):
    """Partner credentials reach only the endpoints that name the scope they need.

    A partner credential (`request.auth` with `partner_scopes`: integrations.access) acts either
    for a user who consented (`acts_as` "user", an OAuth token) or as the app itself ("app", an
    API key). A view lists, per method, the scope it needs in `required_scopes`, and who may call
    it in `partner_acts_as` ("user" unless it says): one scope, a tuple of scopes all needed, or
    `AnyScope(...)`, of which one is enough. A view that names no scope for a method
    refuses partners (fails closed); a person's own session or token is not limited here.
    """

    def has_permission(self, request, view) -> bool:
        granted = getattr(request.auth, "partner_scopes", None)
        if granted is None:
            if getattr(view, "partner_acts_as", "user") == "app":
                raise exceptions.PermissionDenied(
                    "This endpoint is for partner apps' API keys.", code="api_key_required"
                )
            return True
        needed = required_scopes(view, request.method)
        if needed is None or getattr(view, "partner_acts_as", "user") != request.auth.acts_as:
            raise exceptions.PermissionDenied(
                "Partner apps cannot use this endpoint with this credential.",
                code="scope_not_allowed",
            )
        if isinstance(needed, AnyScope):
            if not set(needed) & set(granted):
                raise exceptions.PermissionDenied(
                    f"This needs one of the scopes {', '.join(needed)}; this app was given "
                    "none of them.",
                    code="insufficient_scope",
                )
            return True
        missing = [name for name in needed if name not in granted]
        if missing:
            raise exceptions.PermissionDenied(
                f"This needs the scope {', '.join(missing)}, which this credential was not "
                "given (the user's consent or the key's scopes).",
                code="insufficient_scope",
            )
        return True


class AnyScope(tuple):
    """In `required_scopes`: scopes of which one is enough (a hold's reader may be the app that
    places holds, or one that only reads)."""

    def __new__(cls, *names: str):
        return super().__new__(cls, names)


def required_scopes(view, method: str) -> tuple[str, ...] | None:
    """The partner scopes a view declares for `method` (HEAD and OPTIONS read as GET): all of
    them needed, or one of them if they are an AnyScope."""
    declared = getattr(view, "required_scopes", None) or {}
    method = "GET" if method in ("HEAD", "OPTIONS") else method
    found = declared.get(method)
    if found is None:
        return None
    if isinstance(found, AnyScope):
        return found
    return (found,) if isinstance(found, str) else tuple(found)


class PartnersOnly(BasePermission):
    """An endpoint only partner apps may call (after PartnerScopePermission checked the scope):
    a refund of what an app charged is the app's to give; the person's own refund would print
    credits."""

    def has_permission(self, request, view) -> bool:
        if getattr(request.auth, "partner_scopes", None) is None:
            raise exceptions.PermissionDenied(
                "Only partner apps may call this endpoint.", code="partner_only"
            )
        return True
