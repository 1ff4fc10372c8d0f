"""A partner app's life: registered (pending), approved, suspended and reactivated, or revoked
for good. Every change has a reason and leaves an AppStatusChange. Its details (addresses,
scopes, cap, logo) are checked here, whoever sends them: the Developers page or the admin."""

import uuid
from urllib.parse import urlsplit

import filetype
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

from credits import services as credits
from credits.actors import Actor
from credits.models import CreditTransaction, Hold
from integrations import scopes
from integrations.errors import InvalidApp
from integrations.models import AppStatusChange, PartnerApp

Status = PartnerApp.Status

# The changes allowed from each status, and the word for each (the admin's actions).
NEXT = {
    Status.PENDING: {Status.APPROVED, Status.REVOKED},
    Status.APPROVED: {Status.SUSPENDED, Status.REVOKED},
    Status.SUSPENDED: {Status.APPROVED, Status.REVOKED},
    Status.REVOKED: set(),
}


# The most a spending cap may propose (credits per 30 days): PositiveIntegerField's range.
MAX_CAP = 2_147_483_647
MAX_NAME_LENGTH = 100
MAX_DESCRIPTION_LENGTH = 2_000
# A logo is an image judged by its bytes (filetype), never by its name, and small.
LOGO_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp"}
LOGO_MAX_BYTES = 512 * 1024
# The owner edits an app's description and redirect URIs while it is pending or approved; a
# suspended or revoked app's details stay as staff saw them.
OWNER_MAY_EDIT = {Status.PENDING, Status.APPROVED}
# What staff may change on an app (besides its status), and what its owner may.
STAFF_FIELDS = {
    "name",
    "description",
    "homepage",
    "redirect_uris",
    "allowed_scopes",
    "proposed_cap",
    "rate_limit_per_minute",
    "may_introspect",
}
OWNER_FIELDS = {"description", "redirect_uris"}


def web_schemes() -> list[str]:
    """The schemes an app's homepage and redirect URIs may use: the OAuth provider's own rule
    (https; http too only with DEBUG: config/settings.py OAUTH2_PROVIDER)."""
    return [scheme.lower() for scheme in oauth2_settings.ALLOWED_REDIRECT_URI_SCHEMES]


def _checked_address(url: str, *, what: str, field: str) -> str:
    url = (url or "").strip()
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc or not parts.hostname:
        raise InvalidApp(
            f"{what} must be a whole address, such as https://app.example.com/.", field=field
        )
    if parts.scheme.lower() not in web_schemes():
        allowed = " or ".join(web_schemes())
        raise InvalidApp(f"{what} must start with {allowed}:// ({url}).", field=field)
    return url


def checked_redirect_uris(text: str) -> str:
    """Redirect URIs, one per line (or space-separated), each a whole address without a
    fragment (RFC 6749 §3.1.2): matched exactly at sign-in, so none may be vague."""
    uris = (text or "").split()
    if not uris:
        raise InvalidApp("Give at least one redirect URI.", field="redirect_uris")
    for uri in uris:
        _checked_address(uri, what="Each redirect URI", field="redirect_uris")
        if "#" in uri:
            raise InvalidApp(f"A redirect URI has no #fragment ({uri}).", field="redirect_uris")
        if "*" in uri:
            raise InvalidApp(f"A redirect URI has no wildcard ({uri}).", field="redirect_uris")
    return " ".join(dict.fromkeys(uris))


def checked_scopes(names) -> str:
    names = scopes.parse(names)
    unknown = scopes.unknown(names)
    if unknown:
        raise InvalidApp(f"Unknown scopes: {', '.join(unknown)}.", field="allowed_scopes")
    if not names:
        raise InvalidApp("Choose at least one scope.", field="allowed_scopes")
    return " ".join(names)


def checked_cap(cap) -> int:
    if type(cap) is not int or not 1 <= cap <= MAX_CAP:
        raise InvalidApp(
            f"The proposed cap must be a whole number of credits from 1 to {MAX_CAP:,}.",
            field="proposed_cap",
        )
    return cap


def checked_logo(upload) -> ContentFile:
    """The logo's bytes under a name of ours (its sniffed type's extension), or a refusal: a
    PNG, JPEG or WebP image of at most LOGO_MAX_BYTES, whatever its file name says."""
    size = getattr(upload, "size", None) or 0
    if not size:
        raise InvalidApp("The logo file is empty.", field="logo")
    if size > LOGO_MAX_BYTES:
        raise InvalidApp(
            f"The logo is {size / 1024:,.0f} KB; it may be at most {LOGO_MAX_BYTES // 1024} KB.",
            field="logo",
        )
    upload.seek(0)
    content = upload.read(LOGO_MAX_BYTES + 1)
    kind = filetype.guess(content[:8192])
    if kind is None or kind.mime not in LOGO_TYPES:
        raise InvalidApp("The logo must be a PNG, JPEG or WebP image.", field="logo")
    return ContentFile(content, name=f"{uuid.uuid4().hex}.{LOGO_TYPES[kind.mime]}")


def checked_details(changes: dict) -> dict:
    checked = dict(changes)
    if "name" in checked:
        checked["name"] = (checked["name"] or "").strip()
        if not checked["name"] or len(checked["name"]) > MAX_NAME_LENGTH:
            raise InvalidApp(
                f"Give the app a name of at most {MAX_NAME_LENGTH} characters.", field="name"
            )
    if "description" in checked:
        checked["description"] = (checked["description"] or "").strip()
        if len(checked["description"]) > MAX_DESCRIPTION_LENGTH:
            raise InvalidApp(
                f"The description may have at most {MAX_DESCRIPTION_LENGTH:,} characters.",
                field="description",
            )
    if "homepage" in checked:
        checked["homepage"] = _checked_address(
            checked["homepage"], what="The homepage", field="homepage"
        )
    if "redirect_uris" in checked:
        checked["redirect_uris"] = checked_redirect_uris(checked["redirect_uris"])
    if "allowed_scopes" in checked:
        checked["allowed_scopes"] = checked_scopes(checked["allowed_scopes"])
    if "proposed_cap" in checked:
        checked["proposed_cap"] = checked_cap(checked["proposed_cap"])
    rate = checked.get("rate_limit_per_minute")
    if rate is not None and (type(rate) is not int or rate < 1):
        raise InvalidApp(
            "The rate limit is a whole number of requests per minute, at least 1 (or empty "
            "for the default).",
            field="rate_limit_per_minute",
        )
    return checked


def _full_clean(app: PartnerApp) -> None:
    """The model's own checks (django-oauth-toolkit's among them), said as our refusal."""
    try:
        app.full_clean()
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise InvalidApp(" ".join(messages), field=field) from error


def register(
    *,
    owner,
    name: str,
    homepage: str,
    redirect_uris: str,
    allowed_scopes: str = "openid",
    description: str = "",
    proposed_cap: int = 1_000,
    logo=None,
    by=None,
) -> tuple[PartnerApp, str]:
    """A new app, pending until staff approve it; returns it and its client secret (shown once:
    only its hash is kept). `allowed_scopes` are the scopes asked for: staff review them."""
    details = checked_details(
        {
            "name": name,
            "homepage": homepage,
            "description": description,
            "redirect_uris": redirect_uris,
            "allowed_scopes": allowed_scopes,
            "proposed_cap": proposed_cap,
        }
    )
    picture = checked_logo(logo) if logo else None
    app = PartnerApp(
        user=owner,
        **details,
        client_type=PartnerApp.CLIENT_CONFIDENTIAL,
        authorization_grant_type=PartnerApp.GRANT_AUTHORIZATION_CODE,
        algorithm=PartnerApp.RS256_ALGORITHM,
    )
    secret = app.client_secret  # the generated one, before save() hashes it
    _full_clean(app)
    with transaction.atomic():
        if picture is not None:
            app.logo.save(picture.name, picture, save=False)
        app.save()
        AppStatusChange.objects.create(
            app=app, to_status=Status.PENDING, reason="Registered", changed_by=by or owner
        )
    return app, secret


def update(*, app: PartnerApp, by, owner: bool = False, **changes) -> PartnerApp:
    """Change an app's details: staff may change STAFF_FIELDS; its owner (`owner=True`) only
    OWNER_FIELDS, and only while the app is pending or approved. Scopes widen only by staff."""
    allowed = OWNER_FIELDS if owner else STAFF_FIELDS
    outside = sorted(set(changes) - allowed)
    if outside:
        raise InvalidApp(f"These details cannot be changed here: {', '.join(outside)}.")
    checked = checked_details(changes)
    with transaction.atomic():
        locked = PartnerApp.objects.select_for_update().get(pk=app.pk)
        if owner and (locked.user_id != getattr(by, "pk", None)):
            raise InvalidApp("Only the app's owner changes its details here.")
        if owner and locked.status not in OWNER_MAY_EDIT:
            raise InvalidApp(
                f"The app is {locked.get_status_display().lower()}: its details can no longer "
                "change (ask staff)."
            )
        for field, value in checked.items():
            setattr(locked, field, value)
        _full_clean(locked)
        locked.save(update_fields=[*checked, "updated"])
    return locked


def change_status(*, app: PartnerApp, to: str, reason: str, by) -> PartnerApp:
    """Move the app to `to`, if its status allows, with a reason (required)."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidApp("Give a reason for the change.", field="reason")
    with transaction.atomic():
        locked = PartnerApp.objects.select_for_update().get(pk=app.pk)
        if to not in NEXT[locked.status]:
            raise InvalidApp(
                f"An app that is {locked.get_status_display().lower()} cannot become {to}."
            )
        AppStatusChange.objects.create(
            app=locked,
            from_status=locked.status,
            to_status=to,
            reason=reason[:500],
            changed_by=by,
            changed_at=timezone.now(),
        )
        locked.status = to
        locked.save(update_fields=["status", "updated"])
    return locked


def release_open_holds(*, app: PartnerApp, reason: str, by) -> int:
    """Release every open hold the app placed (staff act on a suspended or revoked app's holds:
    they stay until then). Returns how many were released."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidApp("Give a reason for releasing the holds.", field="reason")
    return _release(_open_holds(app), actor=Actor.for_staff(by), reason=reason)


def release_holds(*, app: PartnerApp, user, reason: str) -> int:
    """Release the open holds the app placed on `user`'s wallet (their consent ended)."""
    holds = _open_holds(app).filter(wallet__user=user)
    return _release(holds, actor=Actor.system("consent revoked"), reason=reason)


def _open_holds(app: PartnerApp):
    return Hold.objects.filter(
        status=Hold.Status.OPEN,
        transactions__kind=CreditTransaction.Kind.HOLD,
        transactions__actor_app_id=app.pk,
    ).order_by("pk")


def _release(holds, *, actor: Actor, reason: str) -> int:
    released = 0
    for hold in holds:
        credits.release(
            hold=hold,
            actor=actor,
            # One key per hold: the same act retried replays its release.
            idempotency_key=f"release-app-hold-{hold.pk}",
            metadata={"reason": reason[:200]},
        )
        released += 1
    return released
