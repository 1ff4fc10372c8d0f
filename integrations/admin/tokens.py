"""django-oauth-toolkit's tokens in the admin: listed read-only, revoked with its own action;
its grants and ID tokens are not shown (nothing for staff to do with them), and its
Application admin is replaced by PartnerAppAdmin (integrations/admin/apps.py)."""

from django.contrib import admin
from oauth2_provider.admin import AccessTokenAdmin as OAuthAccessTokenAdmin
from oauth2_provider.admin import RefreshTokenAdmin as OAuthRefreshTokenAdmin
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

for model in (get_grant_model(), get_id_token_model()):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class ReadOnlyTokens:
    """Tokens are issued by the OAuth flows and revoked (never edited: a widened scope or a later
    expiry would be a credential nobody consented to)."""

    def has_change_permission(self, request, obj=None):
        # The change permission allows the revoke action; no field is ever edited.
        return obj is None and super().has_change_permission(request)


for token_model, token_admin in (
    (get_access_token_model(), OAuthAccessTokenAdmin),
    (get_refresh_token_model(), OAuthRefreshTokenAdmin),
):
    if admin.site.is_registered(token_model):
        admin.site.unregister(token_model)
    admin.site.register(token_model, type(token_admin.__name__, (ReadOnlyTokens, token_admin), {}))
