"""Writes to accounts: profile changes and API tokens."""

from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.models import User


def update_profile(*, user: User, name: str) -> User:
    """Set the name a user is shown by."""
    user.name = name.strip()
    user.save(update_fields=["name"])
    return user


@transaction.atomic
def rotate_api_token(*, user: User) -> Token:
    """Replace the user's API token with a new one; the old one stops working at once."""
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


def revoke_api_token(*, user: User) -> bool:
    """Delete the user's API token; True if there was one."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)
