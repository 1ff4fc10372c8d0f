"""What a partner app does with a user's token on the ledger's endpoints: it settles only its own
holds, refunds only what it charged, is named as the one who asked, and reads only the profile
fields its scopes allow."""

import pytest
from django.test import Client
from django.urls import reverse

from credits import services
from credits.actors import Actor
from credits.models import CreditTransaction
from tests.clients import Api
from tests.credits.conftest import fund, key
from tests.factories import UserFactory
from tests.integrations.partner_calls import PartnerApi, approved_app, code, new_key
from tests.pages import page, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]

CHARGING = "credits:read credits:spend credits:hold credits:refund"


def balance(user) -> tuple[int, int]:
    user.wallet.refresh_from_db()
    return user.wallet.balance, user.wallet.held


@pytest.fixture
def user():
    found = UserFactory(name="Ada Example", email="ada@example.com")
    fund(found.wallet, 1_000)
    return found


@pytest.fixture
def translator(user):
    return PartnerApi(approved_app("Translator"), user, CHARGING)


@pytest.fixture
def printer(user):
    return PartnerApi(approved_app("Printer"), user, CHARGING)


def placed(api, amount: int = 100) -> int:
    response = api.post("holds", {"amount": amount, "description": "Translation"})
    assert response.status_code == 201, response.content
    return response.json()["id"]


# --- holds --------------------------------------------------------------------------------------


def test_an_app_captures_and_releases_its_own_holds(translator, user):
    first, second = placed(translator), placed(translator)

    captured = translator.post(f"holds/{first}/capture", {"amount": 60})
    released = translator.post(f"holds/{second}/release", {})

    assert (captured.status_code, released.status_code) == (200, 200)
    assert balance(user) == (940, 0)
    capture = CreditTransaction.objects.get(kind=CreditTransaction.Kind.CAPTURE)
    assert (capture.actor_kind, capture.actor_app_id, capture.actor_label) == (
        "app",
        translator.app.pk,
        "Translator",
    )


@pytest.mark.parametrize("action", ["capture", "release"])
def test_another_apps_hold_and_the_users_own_are_not_found_by_an_app(
    translator, printer, user, action
):
    printers = placed(printer)
    users_own = placed(Api(user))

    answers = [translator.post(f"holds/{hold}/{action}", {}) for hold in (printers, users_own)]

    assert [(a.status_code, code(a)) for a in answers] == [(404, "not_found")] * 2
    assert balance(user) == (1_000, 200)


def test_the_user_cannot_settle_a_hold_an_app_placed(translator, user):
    hold = placed(translator)

    refused = Api(user).post(f"holds/{hold}/release", {})

    assert (refused.status_code, code(refused)) == (422, "hold_not_yours")
    assert balance(user) == (1_000, 100)


def test_another_users_data_is_not_found_by_an_app(translator):
    stranger = UserFactory()
    fund(stranger.wallet, 50)
    actor = Actor.for_user(stranger)
    theirs = services.spend(wallet=stranger.wallet, amount=5, actor=actor, idempotency_key=key())
    their_hold = services.hold(
        wallet=stranger.wallet, amount=5, actor=actor, idempotency_key=key()
    ).hold

    answers = [
        translator.get(f"transactions/{theirs.pk}"),
        translator.post(f"transactions/{theirs.pk}/refunds", {"reason": "Sorry"}),
        translator.post(f"holds/{their_hold.pk}/capture", {}),
    ]

    assert [a.status_code for a in answers] == [404, 404, 404]
    listed = translator.get("transactions").json()["results"]
    assert listed  # the user's own funding is there
    assert theirs.pk not in [movement["id"] for movement in listed]


# --- refunds ------------------------------------------------------------------------------------


def spent(api, amount: int = 100) -> int:
    response = api.post("spends", {"amount": amount, "description": "Translation"})
    assert response.status_code == 201, response.content
    return response.json()["id"]


def test_an_app_refunds_what_it_charged_in_parts_up_to_what_is_left(translator, user):
    charge = spent(translator)

    part = translator.post(f"transactions/{charge}/refunds", {"amount": 30, "reason": "Late"})
    too_much = translator.post(f"transactions/{charge}/refunds", {"amount": 71, "reason": "x"})
    rest = translator.post(f"transactions/{charge}/refunds", {"reason": "Cancelled"})
    again = translator.post(f"transactions/{charge}/refunds", {"reason": "Cancelled"})

    assert (part.status_code, part.json()["balance"]) == (201, 930)
    assert (too_much.status_code, code(too_much)) == (422, "refund_not_allowed")
    assert "Only 70 of this transaction's 100 credits" in too_much.json()["errors"][0]["detail"]
    assert (rest.status_code, rest.json()["amount"], rest.json()["balance"]) == (201, 70, 1_000)
    assert (again.status_code, code(again)) == (422, "refund_not_allowed")
    refund = CreditTransaction.objects.filter(kind=CreditTransaction.Kind.REFUND).first()
    assert (refund.description, refund.actor_app_id) == ("Late", translator.app.pk)


def test_an_app_refunds_a_capture_of_its_hold(translator, user):
    hold = placed(translator)
    capture = translator.post(f"holds/{hold}/capture", {}).json()["id"]

    refunded = translator.post(f"transactions/{capture}/refunds", {"reason": "Not delivered"})

    assert refunded.status_code == 201
    assert balance(user) == (1_000, 0)


def test_a_refund_replayed_with_its_key_refunds_once(translator, user):
    charge = spent(translator)
    body = {"amount": 10, "reason": "Late"}

    first = translator.post(f"transactions/{charge}/refunds", body, idempotency_key="r-1")
    again = translator.post(f"transactions/{charge}/refunds", body, idempotency_key="r-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert balance(user) == (910, 0)


def test_an_app_cannot_refund_another_apps_charge_nor_the_users_own(translator, printer, user):
    printers = spent(printer)
    users_own = spent(Api(user))

    answers = [
        translator.post(f"transactions/{charge}/refunds", {"reason": "Sorry"})
        for charge in (printers, users_own)
    ]

    assert [a.status_code for a in answers] == [404, 404]
    assert balance(user) == (800, 0)


def test_a_person_may_not_refund_their_own_spend(user):
    charge = spent(Api(user))
    session = Client()
    session.force_login(user)

    by_token = Api(user).post(f"transactions/{charge}/refunds", {"reason": "Free money"})
    by_session = session.post(
        f"/api/v1/transactions/{charge}/refunds",
        {"reason": "Free money"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=new_key(),
    )

    assert (by_token.status_code, code(by_token)) == (403, "partner_only")
    assert by_session.status_code == 403
    assert balance(user) == (900, 0)


@pytest.mark.parametrize(
    ("body", "idempotency_key", "status"),
    [({"amount": 10}, "new", 400), ({"reason": " "}, "new", 400), ({"amount": 0, "reason": "x"},
     "new", 400), ({"amount": "10", "reason": "x"}, "new", 400), ({"reason": "x"}, None, 400)],
)  # fmt: skip
def test_a_bad_refund_request_is_refused_and_changes_nothing(
    translator, user, body, idempotency_key, status
):
    charge = spent(translator)

    refused = translator.post(f"transactions/{charge}/refunds", body,
                              idempotency_key=idempotency_key)  # fmt: skip

    assert refused.status_code == status
    assert refused.json()["errors"][0]["detail"]
    assert balance(user) == (900, 0)


def test_refunding_needs_the_refund_scope(user):
    api = PartnerApi(approved_app(), user, "credits:spend")
    charge = spent(api)

    refused = api.post(f"transactions/{charge}/refunds", {"reason": "Sorry"})

    assert (refused.status_code, code(refused)) == (403, "insufficient_scope")


# --- who asked ----------------------------------------------------------------------------------


def test_the_history_names_the_app_and_filters_by_it(translator, printer, user):
    spent(translator, 10)
    spent(printer, 20)
    spent(Api(user), 30)

    everything = translator.get("transactions").json()["results"]
    by_printer = translator.get(f"transactions?app={printer.app.pk}").json()["results"]

    assert [m["app"] for m in everything][:3] == [
        None,
        {"id": printer.app.pk, "name": "Printer"},
        {"id": translator.app.pk, "name": "Translator"},
    ]
    assert [m["entry"]["amount"] for m in by_printer] == [-20]
    assert translator.get("transactions?app=nope").status_code == 400


def test_the_history_page_says_which_app_asked_and_filters_by_app(translator, printer, user):
    spent(translator, 10)
    spent(printer, 20)
    client = Client()
    client.force_login(user)

    history = client.get(reverse("credits:history"))
    options = page(history).find("select", attrs={"name": "app"}).find_all("option")
    filtered = client.get(reverse("credits:history"), {"app": printer.app.pk})
    unknown = client.get(reverse("credits:history"), {"app": 999_999})

    assert "Asked by: Translator" in text(history)
    assert "Asked by: Printer" in text(history)
    assert [o.get_text() for o in options] == ["Any app or person", "Printer", "Translator"]
    assert "Asked by: Printer" in text(filtered)
    assert "Asked by: Translator" not in text(filtered)
    assert "Select a valid choice" in text(unknown)


def test_a_history_without_apps_offers_no_app_filter(user):
    client = Client()
    client.force_login(user)

    history = client.get(reverse("credits:history"))

    assert page(history).find("select", attrs={"name": "app"}) is None


def test_the_transaction_page_says_the_app_asked(translator, user):
    charge = spent(translator)
    client = Client()
    client.force_login(user)

    shown = text(client.get(reverse("credits:transaction", args=[charge])))

    assert "Asked by The partner app Translator" in shown


# --- the profile --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "fields"),
    [
        ("openid", {"id"}),
        ("openid profile", {"id", "name"}),
        ("openid email", {"id", "email"}),
        ("openid profile email", {"id", "name", "email"}),
    ],
)
def test_me_tells_an_app_only_what_its_scopes_allow(user, scope, fields):
    me = PartnerApi(approved_app(), user, scope).get("me")

    assert me.status_code == 200
    assert set(me.json()) == fields
    assert me.json()["id"] == user.pk
    assert ("ada@example.com" in me.content.decode()) == ("email" in fields)


def test_me_needs_openid_from_an_app_but_not_from_the_person(user):
    refused = PartnerApi(approved_app(), user, "profile email").get("me")
    own = Api(user).get("me")

    assert (refused.status_code, code(refused)) == (403, "insufficient_scope")
    assert set(own.json()) == {"id", "name", "email"}
