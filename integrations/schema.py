"""The OpenAPI description of partner apps' credentials: OAuth tokens (the authorization code
flow, the scopes of integrations.scopes, and on each operation the scope it needs: its view's
required_scopes) and API keys (on the app's own endpoints)."""

from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension

from core.api.permissions import required_scopes


class PartnerTokenScheme(DjangoOAuthToolkitScheme):
    target_class = "integrations.authentication.PartnerTokenAuthentication"

    def get_security_requirement(self, auto_schema):
        needed = required_scopes(auto_schema.view, auto_schema.method)
        if needed is None or getattr(auto_schema.view, "partner_acts_as", "user") != "user":
            return None  # partner tokens cannot call it: the operation does not list them
        return {self.name: list(needed)}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Partner apps' API keys: `Authorization: Bearer cdk_<env>_<prefix>_<secret>`, listed only
    on the app's own endpoints (the only ones a key reaches)."""

    target_class = "integrations.authentication.ApiKeyAuthentication"
    name = "partnerApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "cdk_<env>_<prefix>_<secret>",
            "description": "A partner app's API key, shown once when it is made. Each endpoint "
            "says the scope the key needs.",
        }

    def get_security_requirement(self, auto_schema):
        if getattr(auto_schema.view, "partner_acts_as", "user") != "app":
            return None
        return {self.name: []}
