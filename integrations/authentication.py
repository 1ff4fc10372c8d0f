"""API authentication of partner apps: API keys (the app as itself) and OAuth 2 access tokens
(acting for a user who consented).

A valid credential of an app that is not approved is answered 403 `app_suspended` /
`app_revoked` (whatever it asks). A token the app no longer has (expired, revoked, unknown) is
not a credential at all, so the call is answered 401 like any anonymous one; a key that does not
authenticate (unknown, expired, revoked, malformed) is one 401 that does not say which.

Every call with a partner credential is admitted through `admit`: it counts against the app's
rate limit (a 429 past it) and is marked on the request, so PartnerTrafficMiddleware
(integrations.middleware) counts it in the app's usage and sends the RateLimit headers once the
answer is known.
"""

import ipaddress
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.throttling import BaseThrottle

from credits.actors import Actor
from integrations import scopes
from integrations.access import PartnerAccess
from integrations.errors import AppNotActive, KeyRefused
from integrations.models import PartnerApp
from integrations.services import keys, rate_limits
from integrations.services.caps import charge_limit

# Bearer values that start so are API keys; any other is an OAuth access token.
KEY_START = b"cdk_"


@dataclass(frozen=True)
class PartnerCall:
    """What PartnerTrafficMiddleware needs of a partner call: whose it is, and its window."""

    app_id: int
    user_id: int | None
    window: rate_limits.Window


def admit(request, *, app: PartnerApp, bucket: str, user_id: int | None = None) -> None:
    """Count the call against its bucket's limit (429 past it) and mark it for the middleware.
    Before the app's status is checked: a suspended app's calls are counted and limited too."""
    window = rate_limits.take(bucket, rate_limits.limit_for(app))
    request._request.partner_call = PartnerCall(app_id=app.pk, user_id=user_id, window=window)
    if not window.allowed:
        raise exceptions.Throttled(
            wait=window.reset,
            # DRF adds "Expected available in N seconds." from `wait`.
            detail=f"This app may make {window.limit} requests a minute with this credential.",
        )


def refuse_unless_approved(app: PartnerApp) -> None:
    if app.status != PartnerApp.Status.APPROVED:
        refusal = AppNotActive(app)
        raise exceptions.PermissionDenied(refusal.message, code=refusal.code)


class PartnerTokenAuthentication(OAuth2Authentication):
    """`Authorization: Bearer <access token>` from django-oauth-toolkit, as a PartnerAccess.

    The scopes are the token's, narrowed to what staff allow the app now.
    """

    def authenticate(self, request):
        found = super().authenticate(request)
        if found is None:
            if _bearer(request):
                # A bearer token that is no token (expired, revoked, unknown): say so, rather
                # than "no credentials" as for a call that sent none.
                raise exceptions.AuthenticationFailed(TOKEN_REFUSED)
            return None
        user, token = found
        if not user.is_active:
            # As a user's own tokens: a deactivated account is reached by nobody's.
            raise exceptions.AuthenticationFailed(TOKEN_REFUSED)
        app = token.application
        admit(request, app=app, bucket=f"app:{app.pk}", user_id=user.pk)
        refuse_unless_approved(app)
        granted = set(scopes.parse(token.scope)) & set(scopes.parse(app.allowed_scopes))
        actor = Actor.for_app(
            app.pk, app.name, user_id=user.pk, charge_limit=charge_limit(app.pk, user.pk)
        )
        return user, PartnerAccess(
            app=app,
            acts_as="user",
            partner_scopes=frozenset(granted),
            actor=actor,
            credential=token,
        )


class AppPrincipal(AnonymousUser):
    """`request.user` for an API key: the app itself, which is no person. It is authenticated
    (IsAuthenticated lets it in; PartnerScopePermission then lets it reach only the app's own
    endpoints), but has no id, no wallet, no staff flag and no permissions, so no user endpoint
    or staff power can find anyone's credits through it."""

    def __init__(self, app: PartnerApp):
        self.app = app

    @property
    def is_anonymous(self):
        return False

    @property
    def is_authenticated(self):
        return True

    def __str__(self):
        return f"partner app {self.app.name}"

    def __eq__(self, other):
        return isinstance(other, AppPrincipal) and other.app.pk == self.app.pk

    def __hash__(self):
        return hash(("app", self.app.pk))


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer cdk_<env>_<prefix>_<secret>`: the app itself (integrations.services
    .keys). Bearer values that are not keys are left to PartnerTokenAuthentication.

    The scopes are the key's, narrowed to what staff allow the app now.
    """

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if len(words) < 2 or words[0].lower() != b"bearer" or not words[1].startswith(KEY_START):
            return None
        try:
            if len(words) != 2:
                raise KeyRefused(keys.REFUSED)
            key = keys.authenticate(words[1].decode("ascii"), ip=_client_address(request))
        except (KeyRefused, UnicodeDecodeError) as refusal:
            raise exceptions.AuthenticationFailed(keys.REFUSED) from refusal
        app = key.app
        admit(request, app=app, bucket=f"key:{key.pk}")
        refuse_unless_approved(app)
        granted = set(scopes.parse(key.scopes)) & set(scopes.parse(app.allowed_scopes))
        return AppPrincipal(app), PartnerAccess(
            app=app,
            acts_as="app",
            partner_scopes=frozenset(granted),
            actor=Actor.for_app(app.pk, app.name),
            credential=key,
        )

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


TOKEN_REFUSED = "This access token is not valid: it is unknown, expired or revoked."  # noqa: S105


def _bearer(request) -> bool:
    words = get_authorization_header(request).split()
    return len(words) >= 1 and words[0].lower() == b"bearer"


def _client_address(request) -> str | None:
    """The caller's address as the throttles see it (NUM_PROXIES), if it is one."""
    address = BaseThrottle().get_ident(request)
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None
