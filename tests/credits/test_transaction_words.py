"""Transactions in words: a transfer names the other side, "Asked by" names who really asked,
and descriptions say what happened without internal ids (those stay on staff pages)."""

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from billing.models import CreditPackage, Purchase
from billing.services import checkout_events
from credits import services
from credits.actors import Actor
from credits.models import CreditTransaction
from tests.clients import sign_in_staff
from tests.credits.conftest import fund, key
from tests.factories import StaffFactory, UserFactory
from tests.pages import page, text

pytestmark = pytest.mark.django_db


def facts(response) -> dict[str, str]:
    found = page(response).find("dl", class_="facts")
    return {dt.get_text(): " ".join(dt.find_next_sibling("dd").get_text().split()) for dt in
            found.find_all("dt")}  # fmt: skip


def test_a_transfer_names_the_other_side_and_who_asked_on_both_pages():
    alice = UserFactory(name="Alice Example", email="alice@example.com")
    bob = UserFactory(name="Bob Example", email="bob@example.com")
    fund(alice.wallet, 100)
    sender, receiver = Client(), Client()
    sender.force_login(alice)
    receiver.force_login(bob)
    sender.post(reverse("credits:transfer"), {"email": bob.email, "amount": 40,
                                               "idempotency_key": "t"})  # fmt: skip
    typed = {"email": bob.email, "amount": 40, "idempotency_key": "t", "description": "Thanks"}
    sent = sender.post(reverse("credits:transfer-confirm"), typed)
    url = sent["Location"]

    seen_by_sender, seen_by_receiver = facts(sender.get(url)), facts(receiver.get(url))

    assert seen_by_sender["To"] == "Bob Example (bob@example.com)"
    assert seen_by_sender["Asked by"] == "You"
    assert seen_by_receiver["From"] == "Alice Example"
    assert seen_by_receiver["Asked by"] == "Alice Example"
    assert "alice@example.com" not in text(receiver.get(url))


def test_the_admin_shows_both_sides_of_a_transfer_as_links(client):
    alice, bob = UserFactory(), UserFactory()
    fund(alice.wallet, 100)
    txn = services.transfer(sender=alice.wallet, receiver=bob.wallet, amount=5,
                            actor=Actor.for_user(alice), idempotency_key=key())  # fmt: skip
    sign_in_staff(client, StaffFactory())

    body = page(client.get(reverse("admin:credits_credittransaction_change", args=[txn.pk])))

    for wallet in (alice.wallet, bob.wallet):
        url = reverse("admin:credits_wallet_change", args=[wallet.pk])
        assert wallet.user.email in [link.get_text() for link in body.find_all("a", href=url)]
    assert body.find("a", href=reverse("admin:accounts_user_change", args=[alice.pk]))


@pytest.mark.parametrize(
    ("actor", "said"),
    [
        (lambda owner, staff: Actor.for_user(owner), "You"),
        (lambda owner, staff: Actor.for_staff(staff), "A CreditDesk staff member"),
        (lambda owner, staff: Actor.for_app(7, "Translator"), "The partner app Translator"),
        (lambda owner, staff: Actor.system("credits_expire"), "CreditDesk, expiring credits"),
        (lambda owner, staff: Actor.system("billing"), "CreditDesk, on Stripe's notice"),
        (lambda owner, staff: Actor.system("something_new"), "CreditDesk (automatic)"),
    ],
)
def test_asked_by_names_who_really_asked(client, actor, said):
    owner, staff = UserFactory(), StaffFactory()
    client.force_login(owner)
    txn = services.grant(wallet=owner.wallet, amount=5, source="promotion",
                         actor=actor(owner, staff), idempotency_key=key())  # fmt: skip

    shown = facts(client.get(reverse("credits:transaction", args=[txn.pk])))["Asked by"]

    assert shown.startswith(said)
    assert staff.email not in shown


def test_a_purchase_is_described_in_words_and_its_stripe_ids_stay_on_staff_pages(client):
    buyer = UserFactory()
    client.force_login(buyer)
    package = CreditPackage.objects.create(name="Standard", credits=1200, price=Decimal("10.00"))
    purchase = Purchase.objects.create(user=buyer, package=package, amount=package.price,
                                       currency="usd", credits=1200)  # fmt: skip
    checkout_events.checkout_completed(
        session={"id": "cs_test_words", "mode": "payment", "payment_status": "paid",
                 "payment_intent": "pi_test_words", "amount_total": 1000,
                 "metadata": {"purchase_id": str(purchase.pk)}},
        event_id="evt_words", event_type="checkout.session.completed",
    )  # fmt: skip
    txn = CreditTransaction.objects.get(wallet=buyer.wallet)
    today = timezone.localdate().isoformat()
    user_pages = [
        client.get(reverse("credits:dashboard")),
        client.get(reverse("credits:history")),
        client.get(reverse("credits:transaction", args=[txn.pk])),
    ]
    statement = client.get(reverse("credits:statement"), {"since": today, "until": today})
    rows = list(csv.reader(io.StringIO(b"".join(statement.streaming_content).decode())))

    for response in user_pages:
        assert "Purchase: Standard pack, 1,200 credits" in text(response)
        assert "cs_test_words" not in text(response)
    assert rows[3][3:5] == ["Purchase: Standard pack, 1,200 credits", ""]
    staff = sign_in_staff(Client(), StaffFactory())
    admin_page = staff.get(reverse("admin:credits_credittransaction_change", args=[txn.pk]))
    assert "cs_test_words" in text(admin_page)


def test_a_callers_own_reference_is_still_shown_to_the_owner(client):
    owner = UserFactory()
    client.force_login(owner)
    fund(owner.wallet, 10)
    txn = services.spend(
        wallet=owner.wallet,
        amount=3,
        actor=Actor.for_user(owner),
        reference=services.Reference(text="job-42"),
        idempotency_key=key(),
    )

    assert facts(client.get(reverse("credits:transaction", args=[txn.pk])))["Reference"] == "job-42"
