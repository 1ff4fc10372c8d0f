"""CreditDesk's rules for django-oauth-toolkit (OAUTH2_PROVIDER's OAUTH2_VALIDATOR_CLASS).

Only approved apps get codes and tokens, and only through the authorization code grant (with
PKCE) and refresh tokens; the ID token and userinfo say who the user is, as much as the scopes
the user granted allow: `sub` always (the user's id), `email` and `email_verified` with `email`,
`name` with `profile`.
"""

from allauth.account.models import EmailAddress
from oauth2_provider.oauth2_validators import OAuth2Validator

from integrations.models import PartnerApp

# The grants a partner app may use at the token endpoint (discovery advertises the same).
GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})


def _email_verified(user) -> bool:
    return EmailAddress.objects.filter(user=user, email__iexact=user.email, verified=True).exists()


class PartnerValidator(OAuth2Validator):
    def _load_application(self, client_id, request):
        """An app that staff have not approved (pending, suspended, revoked) is no client: the
        authorization endpoint shows an error (no redirect) and the token, revocation and
        introspection endpoints answer `invalid_client`. Tokens it already holds are refused
        by the API with its status (integrations.authentication)."""
        app = super()._load_application(client_id, request)
        if app is not None and app.status != PartnerApp.Status.APPROVED:
            request.client = None
            return None
        return app

    def validate_response_type(self, client_id, response_type, client, request, *args, **kwargs):
        # `code` alone: no implicit (`token`, `id_token`) and no hybrid response types.
        return response_type == "code" and super().validate_response_type(
            client_id, response_type, client, request, *args, **kwargs
        )

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        # Whatever grant type an app's row says, no password or client-credentials grant.
        return grant_type in GRANT_TYPES and super().validate_grant_type(
            client_id, grant_type, client, request, *args, **kwargs
        )

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        # A deactivated account gets no new tokens (its user's own tokens stop too).
        valid = super().validate_refresh_token(refresh_token, client, request, *args, **kwargs)
        return valid and request.user.is_active

    def get_additional_claims(self):
        # Request-agnostic (callables), so discovery lists the claims (claims_supported); each
        # is given only with its scope (oidc_claim_scope: email, email_verified → email;
        # name → profile).
        return {
            "email": lambda request: request.user.email,
            "email_verified": lambda request: _email_verified(request.user),
            "name": lambda request: request.user.name,
        }

    # `prompt=none`: the authorization view has already sent a visitor back with
    # login_required, and it answers consent_required when no consent covers the scopes
    # (integrations.oauth_views.ConsentView), which oauthlib cannot see from here.
    def validate_silent_login(self, request):
        return True

    def validate_silent_authorization(self, request):
        return True
