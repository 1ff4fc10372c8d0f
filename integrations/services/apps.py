"""A partner app's life: registered (pending), approved, suspended and reactivated, or revoked
for good. Every change has a reason and leaves an AppStatusChange."""

from django.db import transaction
from django.utils import timezone

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


def register(
    *,
    owner,
    name: str,
    homepage: str,
    redirect_uris: str,
    allowed_scopes: str = "openid",
    description: str = "",
    proposed_cap: int = 1_000,
    by=None,
) -> tuple[PartnerApp, str]:
    """A new app, pending until staff approve it; returns it and its client secret (shown once:
    only its hash is kept)."""
    unknown = scopes.unknown(allowed_scopes)
    if unknown:
        raise InvalidApp(f"Unknown scopes: {', '.join(unknown)}.", field="allowed_scopes")
    app = PartnerApp(
        user=owner,
        name=name.strip(),
        homepage=homepage,
        description=description.strip(),
        redirect_uris=" ".join(redirect_uris.split()),
        allowed_scopes=" ".join(scopes.parse(allowed_scopes)),
        proposed_cap=proposed_cap,
        client_type=PartnerApp.CLIENT_CONFIDENTIAL,
        authorization_grant_type=PartnerApp.GRANT_AUTHORIZATION_CODE,
        algorithm=PartnerApp.RS256_ALGORITHM,
    )
    secret = app.client_secret  # the generated one, before save() hashes it
    app.full_clean()
    with transaction.atomic():
        app.save()
        AppStatusChange.objects.create(
            app=app, to_status=Status.PENDING, reason="Registered", changed_by=by or owner
        )
    return app, secret


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
    open_holds = Hold.objects.filter(
        status=Hold.Status.OPEN,
        transactions__kind=CreditTransaction.Kind.HOLD,
        transactions__actor_app_id=app.pk,
    ).order_by("pk")
    released = 0
    for hold in open_holds:
        credits.release(
            hold=hold,
            actor=Actor.for_staff(by),
            idempotency_key=f"app-{app.pk}-release-hold-{hold.pk}",
            metadata={"reason": reason[:200]},
        )
        released += 1
    return released
