"""The dashboard says what happened in words: cards name where credits came from, a new user is
told what to do first, and a wallet that cannot spend says so and offers nothing it refuses."""

import pytest
from django.urls import reverse
from django.utils import timezone

from credits import selectors, services
from credits.actors import Actor
from credits.models import CreditGrant
from tests.credits.conftest import ACTOR, fund, key
from tests.factories import UserFactory
from tests.pages import accessibility_problems, page, text

pytestmark = pytest.mark.django_db
Source = CreditGrant.Source


@pytest.fixture
def user(client):
    user = UserFactory(name="Ada")
    client.force_login(user)
    return user


def card(response) -> dict[str, str]:
    """This month's card as {label: figure}."""
    this_month = page(response).find("section", attrs={"class": "month"})
    return {
        dt.get_text(): dt.find_next_sibling("dd").get_text() for dt in this_month.find_all("dt")
    }


@pytest.mark.parametrize(
    ("source", "options", "label"),
    [
        (Source.PURCHASE, {}, "Purchases"),
        (Source.SUBSCRIPTION, {}, "Subscription"),
        (Source.PROMOTION, {"is_promotional": True}, "Promotions"),
        (Source.ADMIN, {"is_promotional": False}, "Staff grants"),  # paid, still not bought
        (Source.ADMIN, {"is_promotional": True}, "Staff grants"),
    ],
)
def test_every_grant_source_has_its_own_line_on_the_card(client, user, source, options, label):
    fund(user.wallet, 70, source=source, **options)

    assert card(client.get(reverse("credits:dashboard"))) == {label: "70"}


def test_a_card_names_every_way_credits_left_or_came_back(client, user):
    other = UserFactory()
    fund(other.wallet, 100)
    grant = fund(user.wallet, 500)
    services.transfer(sender=other.wallet, receiver=user.wallet, amount=40, actor=ACTOR,
                      idempotency_key=key())  # fmt: skip
    services.transfer(sender=user.wallet, receiver=other.wallet, amount=30, actor=ACTOR,
                      idempotency_key=key())  # fmt: skip
    spent = services.spend(wallet=user.wallet, amount=15, description="Logo", actor=ACTOR,
                           idempotency_key=key())  # fmt: skip
    services.refund(transaction=spent, amount=5, description="Half", actor=ACTOR,
                    idempotency_key=key())  # fmt: skip
    services.adjust(wallet=user.wallet, amount=7, reason="Correction", actor=ACTOR,
                    idempotency_key=key())  # fmt: skip
    services.revoke(grant=grant, amount=20, reason="Chargeback lost", actor=ACTOR,
                    idempotency_key=key())  # fmt: skip

    figures = card(client.get(reverse("credits:dashboard")))

    assert figures == {
        "Purchases": "500",
        "Refunds": "5",
        "Transfers in": "40",
        "Transfers out": "30",
        "Spent": "15",
        "Staff deductions": "7",
        "Taken back": "20",
    }
    month = selectors.monthly_summary(user.wallet)[-1]
    user.wallet.refresh_from_db()
    assert month.added - month.removed == user.wallet.balance


def test_a_new_users_dashboard_says_what_to_do_first_and_shows_no_zeros(client, user):
    response = client.get(reverse("credits:dashboard"))
    body = page(response)

    assert "Get your first credits" in text(response)
    assert "Credits pay for jobs" in text(response)
    assert body.find("a", href=reverse("billing:shop"), string="Buy credits") is not None
    assert body.find("section", attrs={"class": "month"}) is None
    assert body.find("svg") is None
    for offered in ("credits:transfer", "disputes:list", "credits:statement"):
        assert body.find("main").find("a", href=reverse(offered)) is None, offered
    assert accessibility_problems(response) == []


def test_only_months_that_moved_get_a_card(client, user):
    fund(user.wallet, 100)

    cards = page(client.get(reverse("credits:dashboard"))).find_all("section", class_="month")

    assert [section["aria-label"] for section in cards] == [timezone.localdate().strftime("%B %Y")]


def test_disputes_are_offered_once_there_is_something_to_dispute(client, user):
    def offered() -> bool:
        body = page(client.get(reverse("credits:dashboard"))).find("main")
        return body.find("a", href=reverse("disputes:list")) is not None

    fund(user.wallet, 100)  # a grant cannot be disputed
    before = offered()
    services.spend(wallet=user.wallet, amount=5, actor=ACTOR, idempotency_key=key())

    assert (before, offered()) == (False, True)


STAFF = Actor.system("tests")


@pytest.mark.parametrize(
    ("status", "says", "may_buy"),
    [
        ("frozen", "You can still receive and buy credits, but you cannot spend or transfer", True),
        ("suspended", "No credits can move in or out", False),
    ],
)
def test_a_wallet_that_cannot_spend_says_so_first_and_disables_transfers(
    client, user, settings, status, says, may_buy
):
    settings.SUPPORT_EMAIL = "help@example.com"
    fund(user.wallet, 100)
    change = services.freeze if status == "frozen" else services.suspend
    change(wallet=user.wallet, reason="Checking a chargeback", actor=STAFF)

    dashboard = client.get(reverse("credits:dashboard"))
    transfer = client.get(reverse("credits:transfer"))
    body = page(dashboard).find("main")

    assert f"Your wallet is {status}" in text(dashboard)
    assert says in text(dashboard)
    assert f"Available (cannot be spent while {status})" in text(dashboard)
    assert body.find("a", href="mailto:help@example.com") is not None
    assert body.find("a", href=reverse("credits:transfer")) is None
    assert body.find(attrs={"aria-disabled": "true"}).get_text() == "Transfer"
    assert f"No transfers while your wallet is {status}" in text(dashboard)
    assert (body.find("a", href=reverse("billing:shop")) is not None) == may_buy
    assert f"Your wallet is {status}" in text(transfer)
    assert page(transfer).find("input", attrs={"name": "email"}) is None
    assert accessibility_problems(dashboard) == accessibility_problems(transfer) == []


def test_an_active_wallet_shows_no_status_notice(client, user):
    fund(user.wallet, 100)

    response = client.get(reverse("credits:dashboard"))

    assert "Your wallet is" not in text(response)
    assert page(response).find("main").find("a", href=reverse("credits:transfer")) is not None
