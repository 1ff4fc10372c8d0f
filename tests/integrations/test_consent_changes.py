"""A consent asked again adds up; a revoked one gives back what the app held."""

import pytest

from credits.models import Hold, Wallet
from integrations.models import Consent
from integrations.services import consents
from tests.integrations.test_cap_counts import app, hold, spend, user  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]


def test_revoking_releases_the_apps_open_holds_on_the_users_wallet_and_keeps_its_charges(
    app,  # noqa: F811
    user,  # noqa: F811
):
    spend(app, user, 20)
    placed = hold(app, user, 30).hold

    consents.revoke(consent=consents.live_consent(app=app, user=user))

    placed.refresh_from_db()
    wallet = Wallet.objects.get(user=user)
    assert placed.status == Hold.Status.RELEASED
    assert (wallet.balance, wallet.held) == (980, 0)
    consents.revoke(consent=Consent.objects.get(app=app, user=user))  # again: nothing more
    assert Wallet.objects.get(user=user).balance == 980


def test_a_consent_asked_again_for_one_more_scope_keeps_the_scopes_given_before(
    app,  # noqa: F811
    user,  # noqa: F811
):
    again = consents.give(app=app, user=user, scope_names="openid", cap=80)

    assert again.scopes.split() == ["credits:hold", "credits:spend", "openid"]
    assert again.cap == 80
    assert Consent.objects.filter(app=app, user=user, revoked_at__isnull=True).count() == 1
