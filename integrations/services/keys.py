"""An app's API keys (server to server): `cdk_<env>_<prefix>_<secret>`.

The prefix (12 hex digits, not secret) finds the row with one indexed lookup; the secret (32
random bytes) is compared with the stored SHA-256 in constant time. SHA-256, not a password
hasher: the secret is random and long, so a fast hash loses nothing, and a slow one on every
request is what made djangorestframework-api-key slow (its #173). A key is shown once.

Rotation makes a new key with the same scopes and keeps the old one working for an overlap the
caller chooses (at most INTEGRATIONS_KEY_MAX_OVERLAP_HOURS), so the app can deploy the new one;
revocation stops a key at once. An unknown, expired, revoked or malformed key gets one answer.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations import scopes
from integrations.errors import InvalidApp, KeyRefused
from integrations.models import AppKey, PartnerApp

KEY_SHAPE = re.compile(r"cdk_(live|test)_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
REFUSED = "This API key is not valid."
# last_used_at / last_used_ip are written at most this often per key, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class NewKey:
    key: AppKey
    secret: str  # the whole key: shown once, stored nowhere


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create(
    *, app: PartnerApp, name: str, scope_names, by, expires_at: datetime | None = None
) -> NewKey:
    """A new key for `app` with `scope_names` (a subset of what the app is allowed)."""
    _refuse_revoked(app)
    name = (name or "").strip()
    if not name:
        raise InvalidApp("Give the key a name.", field="name")
    names = scopes.parse(scope_names)
    if not names:
        raise InvalidApp("Choose at least one scope for the key.", field="scopes")
    outside = sorted(set(names) - set(scopes.parse(app.allowed_scopes)))
    if outside:
        raise InvalidApp(f"The app is not allowed the scopes {', '.join(outside)}.", field="scopes")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidApp("The expiry must be in the future.", field="expires_at")
    return _issue(app=app, name=name, scope_text=" ".join(names), by=by, expires_at=expires_at)


def _refuse_revoked(app: PartnerApp) -> None:
    if app.status == PartnerApp.Status.REVOKED:
        raise InvalidApp("The app is revoked: it gets no new keys.")


def _issue(*, app, name, scope_text, by, expires_at) -> NewKey:
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    whole = f"cdk_{settings.INTEGRATIONS_KEY_ENVIRONMENT}_{prefix}_{secret}"
    key = AppKey.objects.create(
        app=app,
        name=name[:100],
        prefix=prefix,
        secret_hash=digest(secret),
        scopes=scope_text,
        created_by=by,
        expires_at=expires_at,
    )
    return NewKey(key=key, secret=whole)


def rotate(*, key: AppKey, overlap_hours: int, by) -> NewKey:
    """A new key in place of `key`, which keeps working for `overlap_hours` (0: stops now)."""
    limit = settings.INTEGRATIONS_KEY_MAX_OVERLAP_HOURS
    if not isinstance(overlap_hours, int) or not 0 <= overlap_hours <= limit:
        raise InvalidApp(
            f"The overlap must be a whole number of hours from 0 to {limit}.",
            field="overlap_hours",
        )
    with transaction.atomic():
        old = AppKey.objects.select_for_update().select_related("app").get(pk=key.pk)
        if not old.is_usable() or old.replaced_by_id is not None:
            raise InvalidApp("Only a key in use, not already rotated, can be rotated.")
        _refuse_revoked(old.app)
        new = _issue(
            app=old.app, name=old.name, scope_text=old.scopes, by=by, expires_at=old.expires_at
        )
        until = timezone.now() + timedelta(hours=overlap_hours)
        old.expires_at = until if old.expires_at is None else min(old.expires_at, until)
        old.replaced_by = new.key
        old.save(update_fields=["expires_at", "replaced_by"])
    return new


def revoke(*, key: AppKey) -> AppKey:
    """Stop the key at once."""
    AppKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db()
    return key


def authenticate(presented: str, *, ip: str | None = None) -> AppKey:
    """The usable key `presented` is (its app selected along), or KeyRefused: one message for
    every reason, so a caller learns nothing about keys they do not hold."""
    shape = KEY_SHAPE.fullmatch(presented or "")
    if shape is None:
        raise KeyRefused(REFUSED)
    environment, prefix, secret = shape.groups()
    key = AppKey.objects.select_related("app").filter(prefix=prefix).first()
    now = timezone.now()
    if (
        key is None
        or not hmac.compare_digest(key.secret_hash, digest(secret))
        or environment != settings.INTEGRATIONS_KEY_ENVIRONMENT
        or not key.is_usable(now)
    ):
        raise KeyRefused(REFUSED)
    if (
        key.last_used_at is None
        or now - key.last_used_at >= LAST_USED_RESOLUTION
        or (ip and ip != key.last_used_ip)
    ):
        AppKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=ip)
        key.last_used_at, key.last_used_ip = now, ip
    return key
