"""Attacks on the ledger through a partner app's OAuth token: passing the spending cap (holds and
partial captures, refunds, idempotency replays, a second consent, holds older than the window),
acting on another user's holds, refunding what is not a charge, and a user who is no longer
active. Each test either proves the attack fails or, marked DEFECT, shows that it works."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from credits.models import CreditTransaction
from integrations.services import consents
from tests.clients import Api
from tests.credits.conftest import fund
from tests.factories import UserFactory
from tests.integrations.partners import (
    Partner,
    approved_app,
    consenting_user,
    oauth_token,
    oidc_key,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("oidc_key", "ledger_reconciles"),
]
assert oidc_key  # a fixture, used above

CHARGING = "openid credits:read credits:spend credits:hold credits:refund"


def _body(amount: int, **more) -> dict:
    return {"amount": amount, "description": "Attack", **more}


def _code(answer) -> str:
    return answer.json()["errors"][0]["code"]


def _balance(user) -> tuple[int, int]:
    user.wallet.refresh_from_db()
    return user.wallet.balance, user.wallet.held


@pytest.fixture
def app():
    return approved_app("Attacker")


@pytest.fixture
def victim(app):
    """A user with 5,000 credits who let the app charge at most 1,000 per 30 days."""
    user, token = consenting_user(app, scopes=CHARGING, cap=1_000)
    fund(user.wallet, 5_000)
    return user, Partner(token)


def _charged_by(app) -> int:
    """What the app took in spends and captures, net of nothing (refunds are separate)."""
    rows = CreditTransaction.objects.filter(
        actor_app_id=app.pk, kind__in=[CreditTransaction.Kind.SPEND, CreditTransaction.Kind.CAPTURE]
    )
    return sum(row.amount for row in rows)


# --- the cap ------------------------------------------------------------------------------------


def test_holds_and_partial_captures_never_pass_the_cap(app, victim):
    _user, partner = victim
    first = partner.post("holds", _body(600))
    assert first.status_code == 201, first.content
    hold_id = first.json()["id"]
    partial = partner.post(f"holds/{hold_id}/capture", {"amount": 300, "final": False})
    assert partial.status_code == 200, partial.content

    too_much = partner.post("holds", _body(401))  # 300 captured + 300 still held + 401
    fits = partner.post("holds", _body(400))
    one_more_spend = partner.post("spends", _body(1))
    rest = partner.post(f"holds/{hold_id}/capture", {})

    assert (too_much.status_code, _code(too_much)) == (422, "cap_exceeded")
    assert fits.status_code == 201
    assert _code(one_more_spend) == "cap_exceeded"
    assert rest.status_code == 200
    assert _charged_by(app) == 600


def test_capturing_more_than_a_hold_reserves_is_refused(victim):
    _user, partner = victim
    hold_id = partner.post("holds", _body(100)).json()["id"]

    answers = [
        partner.post(f"holds/{hold_id}/capture", {"amount": amount})
        for amount in (101, 0, -5, 10**30, "50", 1.5, True)
    ]

    assert [a.status_code for a in answers] == [422, 400, 400, 400, 400, 400, 400], [
        a.content for a in answers
    ]


def test_refunds_give_no_room_back_under_the_cap(app, victim):
    user, partner = victim
    spent = partner.post("spends", _body(1_000))
    assert spent.status_code == 201
    charge = CreditTransaction.objects.get(actor_app_id=app.pk, kind=CreditTransaction.Kind.SPEND)

    refunded = partner.post(f"transactions/{charge.pk}/refunds", {"reason": "Sorry"})
    again = partner.post("spends", _body(1))
    held = partner.post("holds", _body(1))

    assert refunded.status_code == 201, refunded.content
    assert (_code(again), _code(held)) == ("cap_exceeded", "cap_exceeded")
    assert _balance(user) == (5_000, 0)


def test_an_idempotency_replay_charges_once_and_a_reused_key_moves_nothing_else(app, victim):
    user, partner = victim
    first = partner.post("spends", _body(600), idempotency_key="k-1")
    replay = partner.post("spends", _body(600), idempotency_key="k-1")
    other_body = partner.post("spends", _body(500), idempotency_key="k-1")
    other_endpoint = partner.post("holds", _body(500), idempotency_key="k-1")

    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json()
    assert other_body.status_code in (409, 422), other_body.content
    assert other_endpoint.status_code in (409, 422), other_endpoint.content
    assert _charged_by(app) == 600
    assert _balance(user) == (4_400, 0)


def test_a_second_consent_does_not_reset_what_the_app_used(app, victim):
    user, partner = victim
    assert partner.post("spends", _body(900)).status_code == 201

    # The user consents again (a wider scope, the same cap): a new Consent row.
    consents.give(app=app, user=user, scope_names=CHARGING + " email", cap=1_000)
    over = partner.post("spends", _body(101))
    fits = partner.post("spends", _body(100))

    assert _code(over) == "cap_exceeded"
    assert fits.status_code == 201
    assert _charged_by(app) == 1_000


def test_a_hold_placed_before_the_window_still_uses_the_cap_until_settled(app, victim):
    _user, partner = victim
    with time_machine.travel(timezone.now() - timedelta(days=45)):
        placed = partner.post(
            "holds",
            _body(800, expires_at=(timezone.now() + timedelta(days=80)).isoformat()),
        )
    assert placed.status_code == 201, placed.content

    over = partner.post("spends", _body(201))
    captured = partner.post(f"holds/{placed.json()['id']}/capture", {})
    still_over = partner.post("spends", _body(201))

    assert _code(over) == "cap_exceeded"
    assert captured.status_code == 200
    assert _code(still_over) == "cap_exceeded"
    assert _charged_by(app) == 800


def test_charges_on_the_windows_edge_count_until_30_days_have_passed(app, victim):
    user, partner = victim
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert partner.post("spends", _body(1_000)).status_code == 201
    with time_machine.travel(start + timedelta(days=30) - timedelta(seconds=1), tick=False):
        inside = Partner(oauth_token(app, user, CHARGING)).post("spends", _body(1))
    with time_machine.travel(start + timedelta(days=30, seconds=1), tick=False):
        outside = Partner(oauth_token(app, user, CHARGING)).post("spends", _body(1_000))

    assert _code(inside) == "cap_exceeded"
    assert outside.status_code == 201


# --- other users, other transactions ------------------------------------------------------------


def test_an_app_cannot_settle_or_refund_another_users_hold_or_charge_with_its_own_token(app):
    alice, alice_token = consenting_user(app, scopes=CHARGING, cap=1_000)
    bob, bob_token = consenting_user(app, scopes=CHARGING, cap=1_000)
    for user in (alice, bob):
        fund(user.wallet, 1_000)
    alices = Partner(alice_token)
    bobs = Partner(bob_token)
    hold_id = alices.post("holds", _body(100)).json()["id"]
    alices.post("spends", _body(50))
    charge = CreditTransaction.objects.get(wallet=alice.wallet, kind=CreditTransaction.Kind.SPEND)

    answers = [
        bobs.post(f"holds/{hold_id}/capture", {}),
        bobs.post(f"holds/{hold_id}/release", {}),
        bobs.post(f"transactions/{charge.pk}/refunds", {"reason": "x"}),
    ]
    read = bobs.get(f"transactions/{charge.pk}")

    assert [a.status_code for a in answers] == [404, 404, 404]
    assert read.status_code == 404
    assert _balance(alice) == (950, 100)
    assert _balance(bob) == (1_000, 0)


def test_an_app_cannot_refund_its_holds_releases_or_refunds(app, victim):
    user, partner = victim
    hold_id = partner.post("holds", _body(100)).json()["id"]
    partner.post(f"holds/{hold_id}/release", {})
    partner.post("spends", _body(100))
    spend = CreditTransaction.objects.get(actor_app_id=app.pk, kind=CreditTransaction.Kind.SPEND)
    partner.post(f"transactions/{spend.pk}/refunds", {"reason": "r"})
    not_charges = CreditTransaction.objects.filter(actor_app_id=app.pk).exclude(
        kind=CreditTransaction.Kind.SPEND
    )
    assert not_charges.count() == 3  # the hold, its release, the refund

    answers = [
        partner.post(f"transactions/{txn.pk}/refunds", {"reason": "again"}) for txn in not_charges
    ]
    second = partner.post(f"transactions/{spend.pk}/refunds", {"reason": "twice"})

    assert [a.status_code for a in answers] == [422, 422, 422], [a.content for a in answers]
    assert second.status_code == 422
    assert _balance(user) == (5_000, 0)


def test_a_deactivated_users_partner_token_no_longer_reaches_their_wallet(app, victim):
    """DEFECT: a partner app's OAuth token keeps working for a user whose account staff
    deactivated (is_active off). The user's own API tokens are refused then ("User inactive or
    deleted", accounts.services.authenticate_api_token), but PartnerTokenAuthentication relies on
    django-oauth-toolkit, which never looks at `is_active`: the app still reads the wallet and
    spends from it (up to the cap). Expected: 401/403 as for the user's own token."""
    user, partner = victim
    own = Api(user)
    user.is_active = False
    user.save(update_fields=["is_active"])

    read = partner.get("wallet")
    spent = partner.post("spends", _body(10))

    assert read.status_code in (401, 403), read.content
    assert spent.status_code in (401, 403), spent.content
    assert _balance(user) == (5_000, 0)
    assert own.get("wallet").status_code == 401  # the user's own token is refused


def test_a_person_cannot_use_their_own_token_to_refund_or_settle_an_apps_hold(app, victim):
    user, partner = victim
    hold_id = partner.post("holds", _body(100)).json()["id"]
    partner.post("spends", _body(100))
    charge = CreditTransaction.objects.get(actor_app_id=app.pk, kind=CreditTransaction.Kind.SPEND)
    own = Api(user)

    answers = [
        own.post(f"transactions/{charge.pk}/refunds", {"reason": "mine"}),
        own.post(f"holds/{hold_id}/capture", {}),
        own.post(f"holds/{hold_id}/release", {}),
    ]

    assert [a.status_code for a in answers] == [403, 422, 422], [a.content for a in answers]
    assert _balance(user) == (4_900, 100)


def test_another_user_of_the_same_app_with_the_same_idempotency_key_is_not_replayed(app):
    alice, alice_token = consenting_user(app, scopes=CHARGING, cap=1_000)
    bob, bob_token = consenting_user(app, scopes=CHARGING, cap=1_000)
    for user in (alice, bob):
        fund(user.wallet, 1_000)

    first = Partner(alice_token).post("spends", _body(10), idempotency_key="same")
    second = Partner(bob_token).post("spends", _body(10), idempotency_key="same")

    assert (first.status_code, second.status_code) == (201, 201)
    assert _balance(alice) == (990, 0)
    assert _balance(bob) == (990, 0)


def test_a_new_user_cannot_be_charged_without_a_consent_even_with_a_token_row(app):
    stranger = UserFactory()
    fund(stranger.wallet, 100)
    token = oauth_token(app, stranger, CHARGING)

    spent = Partner(token).post("spends", _body(10))
    held = Partner(token).post("holds", _body(10))

    assert spent.status_code in (403, 422), spent.content
    assert held.status_code in (403, 422), held.content
    assert _balance(stranger) == (100, 0)
