"""API authentication of partner apps: OAuth 2 access tokens (acting for a user who consented).

A valid token of an app that is not approved is answered 403 `app_suspended` / `app_revoked`
(whatever it asks); a token the app no longer has (expired, revoked, unknown) is not a credential
at all, so the call is answered 401 like any anonymous one.
"""

from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework import exceptions

from credits.actors import Actor
from integrations import scopes
from integrations.access import PartnerAccess
from integrations.errors import AppNotActive
from integrations.models import PartnerApp
from integrations.services.caps import charge_limit


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
            return None
        user, token = found
        app = token.application
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
