"""Reads for accounts: what the Account page lists."""

from django.db.models import QuerySet

from accounts.models import ApiToken, User


def live_api_tokens(*, user: User) -> QuerySet[ApiToken]:
    """The user's tokens that are not revoked (expired ones included, marked by their date),
    newest first."""
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    return live.order_by("-created_at", "-id")
