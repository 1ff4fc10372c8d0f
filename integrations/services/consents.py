"""A user's consent to an app: given on the consent page, revoked from the Account page.

Revoking stops the app at once: its tokens for the user are revoked in the same transaction,
and the ledger refuses its next charge (the cap's check reads the consent under the lock). The
holds it placed on the user's wallet are released in that transaction too: without a token the
app could never settle them, and the user, who did not place them, may not (hold_not_yours), so
they would sit until they expire (docs/partners.md).
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_refresh_token_model,
)

from integrations import scopes
from integrations.errors import ConsentRequired, InvalidApp
from integrations.models import Consent, PartnerApp
from integrations.services.apps import release_holds
from integrations.services.caps import CapUse, cap_use


def live_consent(*, app: PartnerApp, user) -> Consent | None:
    return Consent.objects.filter(app=app, user=user, revoked_at__isnull=True).first()


def covers(consent: Consent | None, *, wanted_scopes, cap: int | None = None) -> bool:
    """Whether an existing consent already allows these scopes (and this cap): otherwise the
    user is asked again."""
    if consent is None:
        return False
    given = set(scopes.parse(consent.scopes))
    return set(scopes.parse(wanted_scopes)) <= given and (cap is None or cap <= consent.cap)


@dataclass(frozen=True)
class ConnectedApp:
    consent: Consent
    use: CapUse

    @property
    def scopes(self) -> list[tuple[str, str]]:
        return scopes.described(self.consent.scopes)


def connected_apps(*, user) -> list[ConnectedApp]:
    """The apps the user lets act for them (live consents), each with its cap's use."""
    live = Consent.objects.filter(user=user, revoked_at__isnull=True).select_related("app", "user")
    return [ConnectedApp(consent=consent, use=cap_use(consent)) for consent in live]


def give(*, app: PartnerApp, user, scope_names, cap: int) -> Consent:
    """The user's consent to `scope_names` with a cap of at most the app's proposal; it replaces
    any earlier consent of theirs to the app, keeping the scopes that one gave: consents add up
    (an app asking for one more scope does not lose the others, nor end its tokens). Giving the
    same consent again (a double-clicked Allow) keeps the one there is."""
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
        # One change at a time for a user: two Allows at once would otherwise both find no
        # live consent and both create one (the second failing the one-live constraint).
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()
        earlier = (
            Consent.objects.select_for_update()
            .filter(app=app, user=user, revoked_at__isnull=True)
            .first()
        )
        if earlier is not None:
            # Scopes staff no longer allow the app are not carried over.
            names = scopes.parse(set(names) | (set(scopes.parse(earlier.scopes)) & allowed))
            if scopes.parse(earlier.scopes) == names and earlier.cap == cap:
                return earlier
            earlier.revoked_at = timezone.now()
            earlier.save(update_fields=["revoked_at"])
        return Consent.objects.create(app=app, user=user, scopes=" ".join(names), cap=cap)


def revoke_for(*, user, consent_id) -> Consent:
    """Revoke one of the user's own consents (the Account page's button): another user's, or
    an unknown one, is refused alike."""
    consent = Consent.objects.filter(pk=consent_id, user=user).select_related("app").first()
    if consent is None:
        raise ConsentRequired("You have no such connected app.")
    return revoke(consent=consent)


def revoke(*, consent: Consent) -> Consent:
    """End the consent and every token the app holds for the user, at once."""
    with transaction.atomic():
        locked = (
            Consent.objects.select_for_update().select_related("app", "user").get(pk=consent.pk)
        )
        if locked.revoked_at is None:
            locked.revoked_at = timezone.now()
            locked.save(update_fields=["revoked_at"])
        revoke_tokens(app=locked.app, user=locked.user)
        release_holds(app=locked.app, user=locked.user, reason="The user revoked the app's access")
    return locked


def revoke_tokens(*, app: PartnerApp, user=None) -> None:
    """Revoke the app's access and refresh tokens, and the codes not yet exchanged for tokens
    (for one user, or all)."""
    refresh_tokens = get_refresh_token_model().objects.filter(application=app, revoked__isnull=True)
    access_tokens = get_access_token_model().objects.filter(application=app)
    codes = get_grant_model().objects.filter(application=app)
    if user is not None:
        refresh_tokens = refresh_tokens.filter(user=user)
        access_tokens = access_tokens.filter(user=user)
        codes = codes.filter(user=user)
    refresh_tokens.update(revoked=timezone.now())
    access_tokens.delete()
    codes.delete()
