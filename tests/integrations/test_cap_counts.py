"""What counts against a consent's spending cap, through the ledger's services as a partner app
calls them (the cap is the app's Actor's charge limit, checked under the wallet's lock)."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from credits import services
from credits.actors import Actor
from credits.models import Wallet
from integrations.errors import AppNotActive, CapExceeded, ConsentRequired
from integrations.models import PartnerApp
from integrations.services import apps, caps, consents
from tests.credits.conftest import fund, key
from tests.factories import StaffFactory, UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]


@pytest.fixture
def app():
    found, _secret = apps.register(
        owner=UserFactory(),
        name="Copy Studio",
        homepage="https://copy.example.com",
        redirect_uris="https://copy.example.com/callback",
        allowed_scopes="openid credits:spend credits:hold",
        proposed_cap=500,
    )
    return apps.change_status(app=found, to=PartnerApp.Status.APPROVED, reason="ok", by=None)


@pytest.fixture
def user(app):
    person = UserFactory()
    fund(Wallet.objects.get(user=person), 1_000)
    consents.give(app=app, user=person, scope_names="credits:spend credits:hold", cap=100)
    return person


def as_app(app, user):
    return Actor.for_app(
        app.pk, app.name, user_id=user.pk, charge_limit=caps.charge_limit(app.pk, user.pk)
    )


def spend(app, user, amount):
    return services.spend(
        wallet=user.wallet, amount=amount, actor=as_app(app, user), idempotency_key=key()
    )


def hold(app, user, amount):
    return services.hold(
        wallet=user.wallet, amount=amount, actor=as_app(app, user), idempotency_key=key()
    )


def test_spends_up_to_the_cap_pass_and_one_credit_more_is_refused_saying_what_is_left(app, user):
    spend(app, user, 60)
    spend(app, user, 40)
    with pytest.raises(CapExceeded, match="0 credits are left"):
        spend(app, user, 1)
    assert Wallet.objects.get(user=user).balance == 900


def test_an_open_hold_uses_the_cap_its_capture_counts_once_and_a_release_gives_room_back(app, user):
    placed = hold(app, user, 70)
    with pytest.raises(CapExceeded, match="30 credits are left"):
        spend(app, user, 31)
    services.capture(
        hold=placed.hold,
        amount=50,
        final=True,
        actor=as_app(app, user),
        idempotency_key=key(),
    )
    assert caps.used(app_id=app.pk, wallet_id=user.wallet.pk) == 50
    second = hold(app, user, 50)
    services.release(hold=second.hold, actor=as_app(app, user), idempotency_key=key())
    spend(app, user, 50)
    assert caps.used(app_id=app.pk, wallet_id=user.wallet.pk) == 100


def test_charges_older_than_30_days_leave_the_window(app, user):
    spend(app, user, 100)
    with time_machine.travel(timezone.now() + timedelta(days=30, minutes=1)):
        spend(app, user, 100)
        assert caps.used(app_id=app.pk, wallet_id=user.wallet.pk) == 100


def test_another_apps_charges_and_the_users_own_do_not_count(app, user):
    other, _ = apps.register(
        owner=UserFactory(),
        name="Other",
        homepage="https://other.example.com",
        redirect_uris="https://other.example.com/cb",
        allowed_scopes="credits:spend",
    )
    other = apps.change_status(app=other, to="approved", reason="ok", by=None)
    consents.give(app=other, user=user, scope_names="credits:spend", cap=500)
    spend(other, user, 300)
    services.spend(
        wallet=user.wallet, amount=200, actor=Actor.for_user(user), idempotency_key=key()
    )
    spend(app, user, 100)


def test_a_revoked_consent_or_a_suspended_app_stops_the_next_charge(app, user):
    consents.revoke(consent=consents.live_consent(app=app, user=user))
    with pytest.raises(ConsentRequired):
        spend(app, user, 1)
    consents.give(app=app, user=user, scope_names="credits:spend", cap=100)
    apps.change_status(app=app, to="suspended", reason="abuse", by=StaffFactory())
    with pytest.raises(AppNotActive):
        spend(app, user, 1)
    assert Wallet.objects.get(user=user).balance == 1_000
