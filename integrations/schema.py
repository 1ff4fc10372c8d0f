"""The OpenAPI description of partner apps' OAuth tokens: the authorization code flow, the scopes
of integrations.scopes, and on each operation the scope it needs (its view's required_scopes)."""

from drf_spectacular.contrib.django_oauth_toolkit import DjangoOAuthToolkitScheme

from core.api.permissions import required_scopes


class PartnerTokenScheme(DjangoOAuthToolkitScheme):
    target_class = "integrations.authentication.PartnerTokenAuthentication"

    def get_security_requirement(self, auto_schema):
        needed = required_scopes(auto_schema.view, auto_schema.method)
        if needed is None or getattr(auto_schema.view, "partner_acts_as", "user") != "user":
            return None  # partner tokens cannot call it: the operation does not list them
        return {self.name: list(needed)}
