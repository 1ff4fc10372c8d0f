from django.conf import settings
from django.http import HttpRequest

# allauth's pages (e-mail, password, two-factor) belong to the Account section of the site.
ACCOUNT_URL_PREFIXES = ("account_", "mfa_")


def navigation(request: HttpRequest) -> dict:
    """Which main-navigation section the page belongs to, to mark it as the current one."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return {"nav_section": ""}
    if match.namespace:
        return {"nav_section": match.namespace}
    if (match.url_name or "").startswith(ACCOUNT_URL_PREFIXES):
        return {"nav_section": "accounts"}
    return {"nav_section": ""}


def support(request: HttpRequest) -> dict:
    """Where people write when something is wrong (a frozen wallet, say): linked from any page."""
    return {"support_email": settings.SUPPORT_EMAIL}
