"""A partner app's own endpoints, with its API key: the users who consented and their cap use,
its usage per day, its holds and its charges. Each shows only the app's own: another app's
users, holds and charges never."""

from datetime import timedelta

import pytest
from django.utils import timezone

from credits import services
from tests.clients import Api
from tests.credits.conftest import ACTOR, fund, key
from tests.factories import UserFactory
from tests.integrations.partners import Partner, api_key, approved_app, consenting_user, oidc_key

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("oidc_key", "ledger_reconciles"),
]
assert oidc_key  # a fixture, used above


@pytest.fixture
def two_apps():
    """Two apps, each with a user who consented and was charged, and a key of each."""
    ours, theirs = approved_app("Translator"), approved_app("Printer")
    alice, alice_token = consenting_user(
        ours, scopes="openid email credits:spend credits:hold", cap=300
    )
    bob, bob_token = consenting_user(ours, scopes="openid credits:spend", cap=200)
    carol, carol_token = consenting_user(theirs, scopes="openid email credits:spend credits:hold")
    for user in (alice, bob, carol):
        fund(user.wallet, 1_000)
    charges = {
        "alice_spend": Partner(alice_token).post("spends", _body(40)),
        "alice_hold": Partner(alice_token).post("holds", _body(25)),
        "bob_spend": Partner(bob_token).post("spends", _body(10)),
        "carol_spend": Partner(carol_token).post("spends", _body(70)),
        "carol_hold": Partner(carol_token).post("holds", _body(5)),
    }
    assert {name: answer.status_code for name, answer in charges.items()} == dict.fromkeys(
        charges, 201
    )
    # The users' own spend is no app's charge.
    services.spend(wallet=alice.wallet, amount=3, actor=ACTOR, idempotency_key=key())
    return {
        "ours": Partner(api_key(ours)),
        "theirs": Partner(api_key(theirs)),
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "alice_token": alice_token,
        "charges": charges,
    }


def _body(amount):
    return {"amount": amount, "description": "Translation", "reference": "order-1"}


def test_consents_list_the_apps_users_with_their_cap_use_and_the_email_only_when_given(two_apps):
    answer = two_apps["ours"].get("app/consents")

    assert answer.status_code == 200
    by_user = {row["user"]: row for row in answer.json()["results"]}
    alice, bob = two_apps["alice"], two_apps["bob"]
    assert set(by_user) == {alice.pk, bob.pk}
    assert by_user[alice.pk]["email"] == alice.email
    assert by_user[alice.pk]["scopes"] == ["credits:hold", "credits:spend", "email", "openid"]
    assert (by_user[alice.pk]["cap"], by_user[alice.pk]["used"], by_user[alice.pk]["left"]) == (
        300,
        65,
        235,
    )
    assert by_user[bob.pk]["email"] is None
    assert (by_user[bob.pk]["used"], by_user[bob.pk]["left"]) == (10, 190)
    theirs = two_apps["theirs"].get("app/consents").json()["results"]
    assert [row["user"] for row in theirs] == [two_apps["carol"].pk]


def test_consents_page_one_at_a_time(two_apps):
    first = two_apps["ours"].get("app/consents", page_size=1).json()
    second = two_apps["ours"].client.get(first["next"], **two_apps["ours"].headers).json()

    assert len(first["results"]) == len(second["results"]) == 1
    assert first["results"][0]["user"] != second["results"][0]["user"]
    assert two_apps["ours"].get("app/consents", page_size=0).status_code == 400


def test_holds_are_the_apps_own_and_filter_by_status(two_apps):
    ours = two_apps["ours"]

    listed = ours.get("app/holds").json()["results"]
    open_ones = ours.get("app/holds", status="open").json()["results"]
    released = ours.get("app/holds", status="released").json()["results"]

    hold = two_apps["charges"]["alice_hold"].json()
    assert [(row["id"], row["user"], row["amount"]) for row in listed] == [
        (hold["id"], two_apps["alice"].pk, 25)
    ]
    assert [row["id"] for row in open_ones] == [hold["id"]]
    assert released == []
    theirs = two_apps["theirs"].get("app/holds").json()["results"]
    assert [row["user"] for row in theirs] == [two_apps["carol"].pk]


def test_a_key_that_may_hold_or_read_sees_the_holds_and_one_that_may_only_read_usage_does_not():
    app = approved_app()

    assert Partner(api_key(app, "credits:hold")).get("app/holds").status_code == 200
    assert Partner(api_key(app, "credits:read")).get("app/holds").status_code == 200
    refused = Partner(api_key(app, "usage:read")).get("app/holds")
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "insufficient_scope"


def test_charges_are_the_apps_own_spends_captures_and_refunds(two_apps):
    ours = two_apps["ours"]
    hold_id = two_apps["charges"]["alice_hold"].json()["id"]
    captured = Partner(two_apps["alice_token"]).post(f"holds/{hold_id}/capture", {"amount": 20})
    assert captured.status_code in (200, 201), captured.json()

    charges = ours.get("app/charges").json()["results"]
    spends = ours.get("app/charges", kind="spend").json()["results"]
    for_bob = ours.get("app/charges", user=two_apps["bob"].pk).json()["results"]

    assert [(row["kind"], row["amount"]) for row in charges] == [
        ("capture", 20),
        ("spend", 10),
        ("spend", 40),
    ]
    assert {row["user"] for row in charges} == {two_apps["alice"].pk, two_apps["bob"].pk}
    assert [row["amount"] for row in spends] == [10, 40]
    assert [row["amount"] for row in for_bob] == [10]
    theirs = two_apps["theirs"].get("app/charges").json()["results"]
    assert [(row["kind"], row["amount"]) for row in theirs] == [("spend", 70)]


@pytest.mark.parametrize(
    ("path", "params", "attr"),
    [
        ("app/holds", {"status": "lost"}, "status"),
        ("app/holds", {"status": ""}, "status"),
        ("app/charges", {"kind": "grant"}, "kind"),
        ("app/charges", {"user": "alice"}, "user"),
        ("app/charges", {"created_after": "yesterday"}, "created_after"),
        ("app/usage", {"from": "2026-02-30"}, "from"),
        ("app/usage", {"to": "soon"}, "to"),
        ("app/consents", {"page_size": "many"}, "page_size"),
        ("app/charges", {"cursor": "not-a-cursor"}, None),
    ],
)
def test_a_bad_query_parameter_is_a_400_with_a_message(path, params, attr):
    answer = Partner(api_key(approved_app())).get(path, **params)

    assert answer.status_code in (400, 404), answer.json()
    error = answer.json()["errors"][0]
    assert error["detail"]
    if attr:
        assert answer.status_code == 400
        assert error["attr"] == attr


def test_usage_ranges_are_checked():
    key = Partner(api_key(approved_app()))
    today = timezone.now().date()

    after_today = key.get("app/usage", to=str(today + timedelta(days=1)))
    backwards = key.get("app/usage", **{"from": str(today), "to": str(today - timedelta(days=1))})
    too_long = key.get("app/usage", **{"from": str(today - timedelta(days=366)), "to": str(today)})
    a_year = key.get("app/usage", **{"from": str(today - timedelta(days=365)), "to": str(today)})

    assert [a.status_code for a in (after_today, backwards, too_long)] == [400, 400, 400]
    assert [a.json()["errors"][0]["attr"] for a in (after_today, backwards, too_long)] == [
        "to",
        "from",
        "from",
    ]
    assert a_year.status_code == 200
    assert len(a_year.json()["days"]) == 366


def test_usage_sums_what_the_app_moved_each_day_from_the_ledger(two_apps):
    ours = two_apps["ours"]
    hold_id = two_apps["charges"]["alice_hold"].json()["id"]
    Partner(two_apps["alice_token"]).post(f"holds/{hold_id}/capture", {"amount": 20})

    answer = ours.get("app/usage")

    assert answer.status_code == 200
    days = answer.json()["days"]
    today = timezone.now().date()
    assert len(days) == 30
    assert days[0]["day"] == str(today - timedelta(days=29))
    assert days[-1]["day"] == str(today)
    assert {k: days[-1][k] for k in ("held", "captured", "spent", "refunded", "active_users")} == {
        "held": 25,
        "captured": 20,
        "spent": 50,
        "refunded": 0,
        "active_users": 2,
    }
    assert all(day["requests"] == day["spent"] == 0 for day in days[:-1])
    theirs = two_apps["theirs"].get("app/usage").json()["days"][-1]
    assert (theirs["spent"], theirs["held"], theirs["active_users"]) == (70, 5, 1)


def test_a_users_own_token_cannot_call_the_apps_endpoints():
    answer = Api(UserFactory()).get("app/consents")

    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "api_key_required"


def test_an_oauth_token_cannot_call_the_apps_endpoints():
    app = approved_app()
    _, token = consenting_user(app)

    answer = Partner(token).get("app/usage")

    assert answer.status_code == 403
    assert answer.json()["errors"][0]["code"] == "scope_not_allowed"
