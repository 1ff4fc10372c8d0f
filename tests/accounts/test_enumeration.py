"""Nobody learns which e-mail addresses have an account: sign-up and password reset answer the
same for known and unknown addresses (the e-mail tells the owner), and receiver look-ups on the
transfer form and API are limited per user, with one answer for every address past the limit."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from accounts.models import User
from tests.clients import Api
from tests.credits.conftest import fund
from tests.factories import UserFactory
from tests.hashers import CountingHasher
from tests.pages import page, text

pytestmark = pytest.mark.django_db

PASSWORD = "plum-orbit-lantern-42"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LIMIT_MESSAGE = "Too many receivers looked up: at most 20 different addresses an hour."


def answer(response) -> tuple:
    """What a visitor sees: the status and where it leads."""
    return response.status_code, response.get("Location")


def test_password_reset_answers_the_same_for_known_and_unknown_addresses(client, mailoutbox):
    UserFactory(email="known@example.com")

    known = client.post(reverse("account_reset_password"), {"email": "known@example.com"})
    unknown = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})

    assert answer(known) == answer(unknown) == (302, reverse("account_reset_password_done"))
    assert [message.to for message in mailoutbox] == [
        ["known@example.com"],
        ["nobody@example.com"],
    ]
    assert "/accounts/password/reset/key/" in mailoutbox[0].body
    assert "/accounts/password/reset/key/" not in mailoutbox[1].body
    assert "we do not have any record of such an account" in mailoutbox[1].body


def test_sign_up_answers_the_same_for_a_taken_address_and_mails_its_owner(client, mailoutbox):
    UserFactory(email="taken@example.com")
    data = {"password1": PASSWORD, "password2": PASSWORD}

    taken = client.post(reverse("account_signup"), {"email": "Taken@Example.com", **data})
    fresh = client.post(reverse("account_signup"), {"email": "fresh@example.com", **data})

    assert answer(taken) == answer(fresh) == (302, reverse("account_email_verification_sent"))
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    owner_mail = next(m for m in mailoutbox if m.to == ["taken@example.com"])
    assert "an account using that email address already exists" in owner_mail.body
    assert "/accounts/confirm-email/" not in owner_mail.body


def transfer_form_error(client, email: str) -> str:
    response = client.post(
        reverse("credits:transfer"), {"email": email, "amount": 5, "idempotency_key": "k"}
    )
    error = page(response).find(id="id_email_error")
    return error.get_text(" ", strip=True) if error else ""


def test_the_transfer_form_refuses_new_addresses_alike_past_the_limit(client):
    sender = UserFactory()
    fund(sender.wallet, 100)
    UserFactory(email="bob@example.com")
    client.force_login(sender)

    with time_machine.travel(START, tick=False):
        assert transfer_form_error(client, "bob@example.com") == ""
        for number in range(19):
            assert "no CreditDesk user" in transfer_form_error(client, f"guess{number}@example.com")
        assert (
            transfer_form_error(client, sender.email) == "You cannot transfer credits to yourself."
        )

        known = transfer_form_error(client, "carol@example.com")
        UserFactory(email="dave@example.com")
        unknown = transfer_form_error(client, "dave@example.com")
        again = transfer_form_error(client, "bob@example.com")

    assert known == unknown == f"{LIMIT_MESSAGE} Try again in 60 minutes."
    assert again == ""  # already looked up this hour: nothing new to learn
    with time_machine.travel(START + timedelta(hours=1, seconds=1), tick=False):
        assert transfer_form_error(client, "dave@example.com") == ""


def test_the_transfer_api_answers_429_with_retry_after_past_the_limit():
    alice = UserFactory()
    fund(alice.wallet, 100)
    UserFactory(email="bob@example.com")
    api = Api(alice)
    with time_machine.travel(START, tick=False):
        for number in range(20):
            response = api.post("transfers", {"receiver_email": f"x{number}@ex.com", "amount": 1})
            assert response.status_code == 400

    with time_machine.travel(START + timedelta(minutes=10), tick=False):
        to_bob = api.post(
            "transfers", {"receiver_email": "bob@example.com", "amount": 1}, idempotency_key="b1"
        )
        to_nobody = api.post("transfers", {"receiver_email": "nobody@ex.com", "amount": 1})

    for refused in (to_bob, to_nobody):
        assert refused.status_code == 429
        assert refused["Retry-After"] == str(50 * 60)
        body = refused.json()
        assert body["type"] == "client_error"
        assert body["errors"][0]["code"] == "throttled"
        assert body["errors"][0]["detail"].startswith(LIMIT_MESSAGE)
    assert to_bob.json() == to_nobody.json()
    # Nothing was done, so the same Idempotency-Key works once the hour is over.
    with time_machine.travel(START + timedelta(hours=1), tick=False):
        retried = api.post(
            "transfers", {"receiver_email": "bob@example.com", "amount": 1}, idempotency_key="b1"
        )
    assert retried.status_code == 201


def test_one_users_look_ups_do_not_limit_another(client):
    prober = Api(UserFactory())
    for number in range(21):
        prober.post("transfers", {"receiver_email": f"x{number}@ex.com", "amount": 1})
    sender = UserFactory()
    fund(sender.wallet, 10)
    UserFactory(email="bob@example.com")
    client.force_login(sender)

    assert transfer_form_error(client, "bob@example.com") == ""
    assert "Transfer" in text(client.get(reverse("credits:transfer")))


def test_a_sign_up_with_a_taken_address_hashes_a_password_like_a_new_one(client, settings):
    """Hashing is most of a sign-up's time: without it a prober could time who has an account."""
    settings.PASSWORD_HASHERS = ["tests.hashers.CountingHasher"]
    UserFactory(email="taken@example.com")
    data = {"password1": PASSWORD, "password2": PASSWORD}
    counts = []
    for email in ("taken@example.com", "fresh@example.com"):
        CountingHasher.encoded = 0
        client.post(reverse("account_signup"), {"email": email, **data})
        counts.append(CountingHasher.encoded)

    assert counts[0] == counts[1] >= 1
