"""Promo codes: checked before paying, limits held, free grants redeemed once."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from billing.errors import PromotionError
from billing.models import Redemption
from billing.services import promotions
from credits.models import CreditGrant
from tests.billing.conftest import make_pack, make_plan, make_promotion, pending_purchase
from tests.credits.conftest import state
from tests.factories import UserFactory
from tests.pages import text

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"is_active": False}, "is not active"),
        ({"valid_from": timezone.now() + timedelta(days=1)}, "is not active"),
        ({"valid_until": timezone.now() - timedelta(minutes=1)}, "has expired"),
        ({"max_redemptions": 0}, "has been used up"),
    ],
)
def test_a_code_that_cannot_be_used_says_why(fields, message):
    make_promotion(**fields)

    with pytest.raises(PromotionError, match=message):
        promotions.preview(code="spring", user=UserFactory(), package=make_pack())


def test_an_unknown_code_says_so():
    with pytest.raises(PromotionError, match="There is no promo code “NOPE”"):
        promotions.preview(code="NOPE", user=UserFactory(), package=None)


def test_codes_are_case_insensitive_and_show_their_effect():
    make_promotion(kind="bonus_percent", value=25)

    assert promotions.preview(code="sPrInG", user=UserFactory(), package=make_pack()) == (
        "+250 bonus credits"
    )


def test_a_code_only_applies_to_its_packs_and_never_to_plans():
    promotion = make_promotion()
    small, big = make_pack(name="Small"), make_pack(name="Big", stripe_price_id="price_big")
    promotion.packages.add(big)
    user = UserFactory()

    with pytest.raises(PromotionError, match="does not apply to Small"):
        promotions.preview(code="SPRING", user=user, package=small)
    with pytest.raises(PromotionError, match="not subscriptions"):
        promotions.preview(code="SPRING", user=user, package=make_plan())
    assert promotions.preview(code="SPRING", user=user, package=big) == "+200 bonus credits"


def test_the_per_user_limit_counts_reserved_and_used_codes():
    promotion = make_promotion(max_per_user=1)
    user, pack = UserFactory(), make_pack()
    pending_purchase(user, pack, bonus=200, promotion=promotion)

    with pytest.raises(PromotionError, match="already used"):
        promotions.preview(code="SPRING", user=user, package=pack)
    assert promotions.preview(code="SPRING", user=UserFactory(), package=pack)


def test_a_free_grant_code_gives_its_credits_once(client):
    make_promotion(code="FREE100", kind="free_grant", value=100, credit_lifetime_days=7)
    user = UserFactory()
    client.force_login(user)

    first = client.post(reverse("billing:redeem"), {"code": "free100"}, follow=True)
    second = client.post(reverse("billing:redeem"), {"code": "FREE100"}, follow=True)

    assert "100 free credits were added" in text(first)
    assert "already used the code" in text(second)
    grant = CreditGrant.objects.get(wallet=user.wallet)
    assert (grant.source, grant.is_promotional, grant.amount) == ("promotion", True, 100)
    assert timedelta(days=6) < grant.expires_at - timezone.now() <= timedelta(days=7)
    assert state(user.wallet)[0] == 100


def test_a_bonus_code_cannot_be_redeemed_for_free_credits(client):
    make_promotion()
    user = UserFactory()
    client.force_login(user)

    response = client.post(reverse("billing:redeem"), {"code": "SPRING"}, follow=True)

    assert "gives a bonus on a pack" in text(response)
    assert state(user.wallet)[0] == 0


def test_the_promo_box_answers_with_the_effect_or_the_reason(client):
    make_promotion()
    pack = make_pack()
    client.force_login(UserFactory())

    good = client.post(
        reverse("billing:promo-check"),
        {"code": "spring", "package": pack.pk},
        HTTP_HX_REQUEST="true",
    )
    bad = client.post(reverse("billing:promo-check"), {"code": "autumn"}, HTTP_HX_REQUEST="true")

    assert "+200 bonus credits" in text(good)
    assert "There is no promo code “autumn”" in text(bad)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"code": "  "}, "Enter a promo code."),
        ({"code": "X" * 41}, "codes have at most 40 characters"),
        ({"code": "spring", "package": "abc"}, "Choose a pack from the list"),
    ],
)
def test_the_promo_box_names_what_is_wrong_with_the_input(client, data, message):
    client.force_login(UserFactory())

    response = client.post(reverse("billing:promo-check"), data, HTTP_HX_REQUEST="true")

    assert message in text(response)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the race needs PostgreSQL row locks (DATABASE_URL); SQLite serialises writers",
)
@pytest.mark.django_db(transaction=True)
def test_two_people_taking_the_last_use_at_once_only_one_gets_it():
    promotion = make_promotion(code="LAST", kind="free_grant", value=10, max_redemptions=1)
    users = [UserFactory() for _ in range(8)]
    barrier = threading.Barrier(len(users))
    outcomes = []

    def redeem(user):
        try:
            barrier.wait()
            promotions.redeem_free_grant(code="LAST", user=user)
            outcomes.append("ok")
        except PromotionError as error:
            outcomes.append(error.message)
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert outcomes.count("ok") == 1
    assert outcomes.count("The code “LAST” has been used up.") == 7
    assert Redemption.objects.filter(promotion=promotion).count() == 1


def test_a_suspended_wallet_cannot_redeem_a_free_grant(client):
    from credits import services
    from tests.credits.conftest import ACTOR

    make_promotion(code="FREE100", kind="free_grant", value=100)
    user = UserFactory()
    services.suspend(wallet=user.wallet, reason="fraud", actor=ACTOR)
    client.force_login(user)

    response = client.post(reverse("billing:redeem"), {"code": "FREE100"}, follow=True)

    assert response.status_code == 200
    assert "Your wallet is suspended" in text(response)
    assert Redemption.objects.count() == 0
