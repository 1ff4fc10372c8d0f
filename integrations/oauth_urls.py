"""The OAuth 2 / OpenID Connect provider's addresses, mounted at the site's root.

The namespace is django-oauth-toolkit's (`oauth2_provider`): it reverses its own endpoints by
these names. The discovery document answers at the root, where the issuer (the site's address)
puts it, and under /o/ as well, where django-oauth-toolkit's own URLs would.
"""

from django.urls import path
from oauth2_provider import views as dot

from integrations import oauth_views

app_name = "oauth2_provider"

urlpatterns = [
    path("o/authorize/", oauth_views.ConsentView.as_view(), name="authorize"),
    path("o/token/", dot.TokenView.as_view(), name="token"),
    path("o/revoke_token/", dot.RevokeTokenView.as_view(), name="revoke-token"),
    path("o/introspect/", oauth_views.IntrospectView.as_view(), name="introspect"),
    path("o/userinfo/", dot.UserInfoView.as_view(), name="user-info"),
    path("o/.well-known/jwks.json", dot.JwksInfoView.as_view(), name="jwks-info"),
    path(
        ".well-known/openid-configuration",
        dot.ConnectDiscoveryInfoView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    path(
        "o/.well-known/openid-configuration",
        dot.ConnectDiscoveryInfoView.as_view(),
        name="oidc-connect-discovery-info-under-o",
    ),
    path(
        ".well-known/oauth-authorization-server",
        dot.OAuthServerMetadataView.as_view(),
        name="oauth-server-metadata",
    ),
    path("o/apps/<str:client_id>/logo", oauth_views.app_logo, name="app-logo"),
]
