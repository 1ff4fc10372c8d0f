"""The scopes a partner app may ask for: the one list, with the words the consent page shows.

django-oauth-toolkit reads them through `PartnerScopes` (OAUTH2_PROVIDER's SCOPES_BACKEND_CLASS),
the API's permission (core.api.permissions.PartnerScopePermission) checks each endpoint's, and
docs/partners.md lists them: a scope named anywhere else is a scope that does not exist.
"""

from oauth2_provider.scopes import BaseScopes

# name: what the user is told the app may do (the consent page says "<app> will be able to …").
SCOPES = {
    "openid": "sign you in with your CreditDesk account",
    "profile": "see your name",
    "email": "see your e-mail address",
    "credits:read": "see your balance, your credit blocks and your history",
    "credits:hold": "reserve your credits for work in progress, and capture or release what it "
    "reserved",
    "credits:spend": "spend your credits",
    "credits:refund": "give back credits it charged you (never more than it charged)",
    "usage:read": "read its own usage figures",
}
# Scopes that let an app take credits: the consent's spending cap bounds them.
CHARGING_SCOPES = frozenset({"credits:hold", "credits:spend"})
# Asked for when an app asks for none.
DEFAULT_SCOPES = ("openid",)


def parse(text: str | list | tuple | set) -> list[str]:
    """Scopes as a sorted list without repeats, from space-separated text or a collection."""
    names = text.split() if isinstance(text, str) else list(text)
    return sorted(set(names))


def unknown(names) -> list[str]:
    return [name for name in parse(names) if name not in SCOPES]


def described(names) -> list[tuple[str, str]]:
    """(scope, words) for each known scope in `names`, in the order of SCOPES."""
    wanted = set(parse(names))
    return [(name, words) for name, words in SCOPES.items() if name in wanted]


class PartnerScopes(BaseScopes):
    """django-oauth-toolkit's view of the scopes: all of them exist; an app may be given only
    those staff allowed it (PartnerApp.allowed_scopes)."""

    def get_all_scopes(self):
        return dict(SCOPES)

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:
            return list(SCOPES)
        return [name for name in parse(application.allowed_scopes) if name in SCOPES]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return list(DEFAULT_SCOPES)
