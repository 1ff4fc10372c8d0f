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
from tests.pages import page, text

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"is_active": False}, "is not active"),
        ({"valid_from": timezone.now() + timedelta(days=1)}, "is not active"),
        (
            {
                "valid_from": timezone.now() - timedelta(days=1),
                "valid_until": timezone.now() - timedelta(minutes=1),
            },
            "has expired",
        ),
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


def test_a_bonus_code_in_the_box_adds_nothing_now_and_waits_for_a_pack(client):
    make_promotion()
    user = UserFactory()
    client.force_login(user)

    response = client.post(reverse("billing:promo-code"), {"code": "SPRING"}, follow=True)

    assert "+200 bonus credits on a pack, applied to the pack you buy next" in text(response)
    assert state(user.wallet)[0] == 0


def test_the_shop_has_one_promo_box_for_both_kinds_of_code(client):
    make_promotion(code="FREE100", kind="free_grant", value=100)
    make_promotion(code="SPRING", kind="bonus_percent", value=10)
    pack = make_pack()
    user = UserFactory()
    client.force_login(user)

    shop = page(client.get(reverse("billing:shop")))
    section = shop.find("section", attrs={"aria-labelledby": "promo-heading"})
    free = client.post(
        reverse("billing:promo-code"), {"code": "free100", "package": pack.pk},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip
    bonus = client.post(
        reverse("billing:promo-code"), {"code": "spring", "package": pack.pk},
        HTTP_HX_REQUEST="true",
    )  # fmt: skip

    assert len(section.find_all("form")) == 1
    assert len(section.find_all("input", attrs={"name": "code"})) == 1
    assert [b.get_text(strip=True) for b in section.find_all("button")] == ["Apply code"]
    assert "100 free credits were added to your wallet" in text(free)
    # A redeemed code leaves the box, so it does not travel on to a checkout.
    emptied = page(free).find("input", id="promo-code")
    assert (emptied["hx-swap-oob"], emptied["value"]) == ("true", "")
    assert "+100 bonus credits, applied to the pack you buy next" in text(bonus)
    assert page(bonus).find("input", id="promo-code") is None
    assert state(user.wallet)[0] == 100


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


# --- Guardrails on a code's terms: the service refuses them, the admin says why beside the field

GOOD_TERMS = {
    "code": "SPRING-25_b",
    "kind": "bonus_fixed",
    "value": 500,
    "valid_from_0": "2030-01-01",
    "valid_from_1": "00:00",
    "max_per_user": 1,
    "is_active": "on",
}


def post_promotion(client, **change):
    from tests.clients import sign_in_staff
    from tests.factories import StaffFactory

    sign_in_staff(client, StaffFactory())
    return client.post(reverse("admin:billing_promotion_add"), {**GOOD_TERMS, **change})


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (
            {"kind": "free_grant", "value": 999_999_999_999},
            "value",
            "between 1 and 100,000 credits",
        ),
        ({"kind": "free_grant", "value": 100_001}, "value", "between 1 and 100,000 credits"),
        ({"kind": "bonus_fixed", "value": 100_001}, "value", "between 1 and 100,000 credits"),
        ({"kind": "bonus_percent", "value": 5000}, "value", "between 1 and 100 %"),
        ({"kind": "bonus_percent", "value": 0}, "value", "between 1 and 100 %"),
        ({"kind": "free_grant", "value": 0}, "value", "between 1 and 100,000 credits"),
        ({"valid_until_0": "2029-12-31", "valid_until_1": "00:00"}, "valid_until", "end after"),
        ({"valid_until_0": "2030-01-01", "valid_until_1": "00:00"}, "valid_until", "end after"),
        ({"code": "TWO WORDS"}, "code", "no spaces"),
        ({"code": "ÉTÉ"}, "code", "letters, digits, - and _"),
        ({"code": "spring-25_B"}, "code", "is taken (case does not matter)"),
        ({"max_per_user": 0}, "max_per_user", "at least once"),
    ],
)
def test_the_admin_refuses_terms_out_of_bounds_in_words_beside_the_field(
    client, change, field, message
):
    if field == "code" and "taken" in message:
        make_promotion(code="SPRING-25_b")

    answer = post_promotion(client, **change)

    assert answer.status_code == 200
    errors = answer.context["adminform"].form.errors
    assert message in " ".join(errors[field])
    assert "Constraint" not in text(answer)
    assert (
        not promotions.Promotion.objects.filter(code__iexact=GOOD_TERMS["code"])
        .exclude(pk__in=promotions.Promotion.objects.filter(code="SPRING-25_b").values("pk"))
        .exists()
    )


def test_the_admin_takes_terms_within_bounds(client, settings):
    settings.BILLING_PROMOTION_MAX_CREDITS = 1000

    answers = [
        post_promotion(client, code="A", kind="free_grant", value=1000),
        post_promotion(client, code="B", kind="bonus_percent", value=100),
        post_promotion(client, code="C", kind="free_grant", value=1001),
    ]

    assert [answer.status_code for answer in answers] == [302, 302, 200]
    assert "between 1 and 1,000 credits" in text(answers[2])


def test_the_service_refuses_bad_terms_whatever_the_surface():
    from billing.errors import PromotionTermsError
    from billing.models import Promotion
    from billing.services import catalogue
    from tests.factories import StaffFactory

    promotion = Promotion(code="big one", kind="free_grant", value=10**9)

    with pytest.raises(PromotionTermsError) as refusal:
        catalogue.save_by_staff(promotion, staff=StaffFactory(), created=True)

    assert set(refusal.value.problems) == {"code", "value"}
    assert not Promotion.objects.exists()


@pytest.mark.parametrize(
    "terms",
    [
        {"kind": "bonus_percent", "value": 5000},
        {"code": "with space"},
        {"valid_until": timezone.now() - timedelta(days=2)},
    ],
)
def test_the_database_refuses_what_it_can_check(terms):
    from django.db import IntegrityError, transaction

    promotion = make_promotion(valid_from=timezone.now() - timedelta(days=1))

    with pytest.raises(IntegrityError), transaction.atomic():
        promotions.Promotion.objects.filter(pk=promotion.pk).update(**terms)


def test_a_code_above_the_maximum_that_slipped_in_gives_nothing(client, settings):
    make_promotion(code="HUGE", kind="free_grant", value=50_000)
    settings.BILLING_PROMOTION_MAX_CREDITS = 10_000  # lowered since the code was set up
    user = UserFactory()

    with pytest.raises(PromotionError, match="cannot be used"):
        promotions.redeem_free_grant(code="HUGE", user=user)
    make_promotion(code="BONUS", kind="bonus_fixed", value=50_000)
    with pytest.raises(PromotionError, match="cannot be used"):
        promotions.preview(code="BONUS", user=user, package=make_pack())

    assert state(user.wallet) == (0, 0, 0)
