"""A user's consent to an app: given on the consent page, revoked from the Account page.

Revoking stops the app at once: its tokens for the user are revoked in the same transaction,
and the ledger refuses its next charge (the cap's check reads the consent under the lock).
Holds it already placed stay open until it captures or releases them, or they expire: they were
placed while the user allowed it, and the work they pay for may be under way (docs/partners.md).
"""

from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model, get_refresh_token_model

from integrations import scopes
from integrations.errors import InvalidApp
from integrations.models import Consent, PartnerApp


def live_consent(*, app: PartnerApp, user) -> Consent | None:
    return Consent.objects.filter(app=app, user=user, revoked_at__isnull=True).first()


def covers(consent: Consent | None, *, wanted_scopes, cap: int | None = None) -> bool:
    """Whether an existing consent already allows these scopes (and this cap): otherwise the
    user is asked again."""
    if consent is None:
        return False
    given = set(scopes.parse(consent.scopes))
    return set(scopes.parse(wanted_scopes)) <= given and (cap is None or cap <= consent.cap)


def give(*, app: PartnerApp, user, scope_names, cap: int) -> Consent:
    """The user's consent to `scope_names` with a cap of at most the app's proposal; it replaces
    any earlier consent of theirs to the app."""
    names = scopes.parse(scope_names)
    allowed = set(scopes.parse(app.allowed_scopes))
    if not set(names) <= allowed:
        raise InvalidApp("The app asked for scopes it is not allowed.", field="scope")
    if not isinstance(cap, int) or not 1 <= cap <= app.proposed_cap:
        raise InvalidApp(
            f"The spending cap must be a whole number of credits from 1 to {app.proposed_cap}.",
            field="cap",
        )
    with transaction.atomic():
        for earlier in Consent.objects.select_for_update().filter(
            app=app, user=user, revoked_at__isnull=True
        ):
            earlier.revoked_at = timezone.now()
            earlier.save(update_fields=["revoked_at"])
        return Consent.objects.create(app=app, user=user, scopes=" ".join(names), cap=cap)


def revoke(*, consent: Consent) -> Consent:
    """End the consent and every token the app holds for the user, at once."""
    with transaction.atomic():
        locked = Consent.objects.select_for_update().get(pk=consent.pk)
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
        revoke_tokens(app=locked.app, user=locked.user)
    return locked


def revoke_tokens(*, app: PartnerApp, user=None) -> None:
    """Revoke the app's access and refresh tokens (for one user, or all)."""
    refresh_tokens = get_refresh_token_model().objects.filter(application=app, revoked__isnull=True)
    access_tokens = get_access_token_model().objects.filter(application=app)
    if user is not None:
        refresh_tokens = refresh_tokens.filter(user=user)
        access_tokens = access_tokens.filter(user=user)
    refresh_tokens.update(revoked=timezone.now())
    access_tokens.delete()
