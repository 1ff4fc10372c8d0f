"""Writes to accounts: profile changes, API tokens, and what happens when credentials change."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from allauth.account.forms import ResetPasswordForm
from allauth.mfa.base.internal.flows import delete_dangling_recovery_codes
from django.contrib.auth import update_session_auth_hash
from django.db import connection, transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from accounts.errors import ApiTokenInvalid, ApiTokenNotFound, ApiTokenRefused
from accounts.models import ApiToken, User
from core.rows import Columns

# A token reads `cdk_<8 hex digits>_<secret>`: its prefix (up to the second underscore) finds
# the row and names the token in lists; the secret (32 random bytes) is what proves it. Only
# SHA-256 of the whole token is stored. Tokens issued before (40 hex digits, from DRF's
# authtoken) keep working: their first 8 digits are their prefix.
TOKEN_START = "cdk_"  # noqa: S105 (the public start of every token, not a secret)
PREFIX_LENGTH = len(TOKEN_START) + 8
LEGACY_PREFIX_LENGTH = 8
LEGACY_TOKEN = re.compile(r"[0-9a-f]{40}")
# Enough for every program a person runs; more is a sign of tokens nobody revokes.
MAX_LIVE_TOKENS = 20
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def update_profile(*, user: User, name: str) -> User:
    """Set the name a user is shown by."""
    user.name = name.strip()
    user.save(update_fields=["name"])
    return user


@dataclass(frozen=True)
class NewApiToken:
    token: ApiToken
    secret: str  # the whole token: shown to its owner once, stored nowhere


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def token_prefix(secret: str) -> str | None:
    """The prefix a presented token claims, or None when it has no token's shape."""
    if secret.startswith(TOKEN_START) and secret[PREFIX_LENGTH : PREFIX_LENGTH + 1] == "_":
        return secret[:PREFIX_LENGTH]
    if LEGACY_TOKEN.fullmatch(secret):
        return secret[:LEGACY_PREFIX_LENGTH]
    return None


@transaction.atomic
def create_api_token(*, user: User, name: str, expires_at: datetime | None = None) -> NewApiToken:
    """A new token for `user`, named, expiring at `expires_at` (None: until revoked)."""
    name = name.strip()
    if not name:
        raise ApiTokenInvalid("Give the token a name.", field="name")
    if expires_at is not None and expires_at <= timezone.now():
        raise ApiTokenInvalid("The expiry must be in the future.", field="expires_at")
    # One creation at a time per user, so the name and count checks below hold.
    User.objects.select_for_update().filter(pk=user.pk).first()
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True)
    if live.filter(name=name).exists():
        raise ApiTokenInvalid(
            "You already have a token with this name: choose another, or revoke that one.",
            field="name",
        )
    if live.count() >= MAX_LIVE_TOKENS:
        raise ApiTokenInvalid(
            f"You have {MAX_LIVE_TOKENS} tokens, the most an account may have: revoke one "
            "you no longer use first."
        )
    prefix = f"{TOKEN_START}{secrets.token_hex(4)}"
    secret = f"{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        user=user, name=name, prefix=prefix, secret_hash=token_digest(secret), expires_at=expires_at
    )
    return NewApiToken(token=token, secret=secret)


def revoke_api_token(*, user: User, token_id: int) -> ApiToken:
    """Stop one of the user's tokens at once; its row stays, marked revoked."""
    token = ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).first()
    if token is None:
        raise ApiTokenNotFound("You have no such token: it may have been revoked already.")
    token.revoked_at = timezone.now()
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
        revoked_at=token.revoked_at
    )
    return token


def revoke_api_tokens(*, token_ids: list[int]) -> int:
    """Stop these tokens, whoever owns them (staff, from the admin); returns how many were live."""
    return ApiToken.objects.filter(pk__in=token_ids, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def revoke_all_api_tokens(*, user: User) -> int:
    """Stop every token of the user; returns how many were still live."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def authenticate_api_token(*, secret: str) -> ApiToken:
    """The live token `secret` is, with its user; records its use (at most once a minute).

    Raises ApiTokenRefused for an unknown, revoked or expired token or an inactive user. Only
    someone holding the right secret learns which of those it was.
    """
    prefix = token_prefix(secret)
    digest = token_digest(secret)
    token = None
    if prefix is not None:
        for candidate in _tokens_with_prefix(prefix):
            if hmac.compare_digest(candidate.secret_hash, digest):
                token = candidate
    if token is None:
        raise ApiTokenRefused("Invalid token.")
    now = timezone.now()
    if token.revoked_at is not None:
        raise ApiTokenRefused("This token was revoked; create a new one on your Account page.")
    if token.is_expired(now):
        raise ApiTokenRefused(
            f"This token expired on {token.expires_at:%Y-%m-%d %H:%M} UTC; create a new one on "
            "your Account page."
        )
    if not token.user.is_active:
        raise ApiTokenRefused("User inactive or deleted.")
    _note_use(token, now)
    return token


TOKEN_COLUMNS = Columns(ApiToken, alias="t")
USER_COLUMNS = Columns(User, alias="u")
# Every request with a token runs it: written once, not compiled by the ORM each time. Nothing
# is cached across requests, so a revocation or a deactivated user counts at once.
TOKENS_WITH_PREFIX_SQL = (
    f"SELECT {TOKEN_COLUMNS.sql}, {USER_COLUMNS.sql} "  # noqa: S608 (our tables)
    f"FROM {ApiToken._meta.db_table} t JOIN {User._meta.db_table} u ON u.id = t.user_id "
    "WHERE t.prefix = %s"
)


def _tokens_with_prefix(prefix: str) -> list[ApiToken]:
    """The tokens beginning with `prefix`, each with its user, in one indexed lookup."""
    with connection.cursor() as cursor:
        cursor.execute(TOKENS_WITH_PREFIX_SQL, [prefix])
        rows = cursor.fetchall()
    width, tokens = len(TOKEN_COLUMNS), []
    for row in rows:
        token = TOKEN_COLUMNS.build(row[:width])
        token.user = USER_COLUMNS.build(row[width:])
        tokens.append(token)
    return tokens


def _note_use(token: ApiToken, now: datetime) -> None:
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    # Conditional, so concurrent requests with one token write it once.
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_RESOLUTION)
    ).update(last_used_at=now)
    token.last_used_at = now


def _renew_credential_stamp(user: User) -> None:
    """Every API token of the user stops and every session signed in before now ends."""
    revoke_all_api_tokens(user=user)
    user.credential_stamp = secrets.token_hex(16)


@transaction.atomic
def set_password(*, user: User, password: str | None) -> None:
    """Set the user's password (None: none, so they cannot sign in with one).

    Whoever set it (allauth's change, reset and set flows, the admin) keeps its own session with
    `update_session_auth_hash`; every other session of the user ends and their tokens stop.
    """
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    _renew_credential_stamp(user)
    user.save(update_fields=["password", "credential_stamp"])


@transaction.atomic
def remove_authenticator(*, authenticator) -> None:
    """Staff reset a user's two-factor from the admin: the authenticator goes (recovery codes
    too, when nothing else is left, as allauth does), and so do the user's tokens and sessions."""
    user = authenticator.user
    authenticator.delete()
    delete_dangling_recovery_codes(user)
    two_factor_changed(user=user)


@transaction.atomic
def two_factor_changed(*, user: User, request: HttpRequest | None = None) -> None:
    """The user's two-factor was removed or reset: their tokens stop and their other sessions
    end; the session of `request` stays signed in when it is the user's own."""
    _renew_credential_stamp(user)
    user.save(update_fields=["credential_stamp"])
    signed_in = getattr(request, "user", None)
    if signed_in is not None and signed_in.is_authenticated and signed_in.pk == user.pk:
        request.user = user
        update_session_auth_hash(request, user)


def send_password_reset(*, request: HttpRequest, user: User) -> None:
    """E-mail the user allauth's password-reset link (what staff do instead of choosing a
    password for someone): the owner of the address picks the new password."""
    form = ResetPasswordForm(data={"email": user.email})
    if form.is_valid():
        form.save(request)
