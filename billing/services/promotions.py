"""Promo codes: their terms, checking one, reserving a use of it, redeeming a free grant."""

import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from billing.errors import PromotionError, PromotionTermsError
from billing.models import CreditPackage, Promotion, Redemption
from core import figures
from credits import services as credits
from credits.actors import Actor
from credits.errors import CreditError
from credits.services import Reference

BILLING = Actor.system("billing")
COUNTED = (Redemption.Status.RESERVED, Redemption.Status.USED)


CODE = re.compile(r"[A-Za-z0-9_-]+")
MAX_PERCENT = 100


def terms_problems(promotion: Promotion) -> dict[str, str]:
    """What is wrong with a code's terms, field by field (empty: nothing).

    A typo in the admin must not print money: a percent bonus is 1 to 100, a fixed bonus or
    free grant at most BILLING_PROMOTION_MAX_CREDITS, the window ends after it starts, and a
    code is one word people can type (letters, digits, - and _), unique whatever its case.
    """
    problems = {}
    code = (promotion.code or "").strip()
    if not CODE.fullmatch(code):
        problems["code"] = "Use only letters, digits, - and _ (no spaces), e.g. SPRING-25."
    elif Promotion.objects.filter(code__iexact=code).exclude(pk=promotion.pk).exists():
        problems["code"] = f"The code “{code}” is taken (case does not matter)."
    if value_problem := _value_problem(promotion):
        problems["value"] = value_problem
    starts, ends = promotion.valid_from, promotion.valid_until
    if starts and ends and ends <= starts:
        problems["valid_until"] = "The code must end after it starts."
    if promotion.max_per_user is not None and promotion.max_per_user < 1:
        problems["max_per_user"] = "Each user may use it at least once."
    return problems


def _value_problem(promotion: Promotion) -> str | None:
    value = promotion.value
    if value is None:
        return None
    if promotion.kind == Promotion.Kind.BONUS_PERCENT:
        if not 1 <= value <= MAX_PERCENT:
            return f"A percentage bonus is between 1 and {MAX_PERCENT} %."
    elif not 1 <= value <= settings.BILLING_PROMOTION_MAX_CREDITS:
        return (
            f"Give between 1 and {settings.BILLING_PROMOTION_MAX_CREDITS:,} credits "
            "(BILLING_PROMOTION_MAX_CREDITS)."
        )
    return None


def check_terms(promotion: Promotion) -> None:
    """Refuse terms staff may not set (PromotionTermsError, field by field)."""
    problems = terms_problems(promotion)
    if problems:
        raise PromotionTermsError(problems)


def _usable_terms(promotion: Promotion) -> None:
    """A code whose terms are out of bounds gives nothing, however its row was written."""
    if _value_problem(promotion):
        raise PromotionError(
            f"The code “{promotion.code}” cannot be used: its terms are being corrected."
        )


def find_promotion(code: str, *, lock: bool = False) -> Promotion:
    code = (code or "").strip()
    if not code:
        raise PromotionError("Enter a promo code.")
    promotions = Promotion.objects.filter(code__iexact=code)
    if lock:
        promotions = promotions.select_for_update()
    promotion = promotions.first()
    if promotion is None:
        raise PromotionError(f"There is no promo code “{code}”.")
    return promotion


def check_promotion(
    *, promotion: Promotion, user, package: CreditPackage | None, pack_chosen: bool = True
) -> None:
    """Refuse, with the reason, a code this user cannot use now (for this package; with
    `pack_chosen` False, a bonus code may wait for the pack bought next)."""
    if user.pk in (promotion.created_by_id, promotion.changed_by_id):
        raise PromotionError(
            f"You set up the code “{promotion.code}”, so you cannot use it yourself."
        )
    now = timezone.now()
    if not promotion.is_active or promotion.valid_from > now:
        raise PromotionError(f"The code “{promotion.code}” is not active.")
    if promotion.valid_until is not None and promotion.valid_until <= now:
        raise PromotionError(f"The code “{promotion.code}” has expired.")
    counted = promotion.redemptions.filter(status__in=COUNTED)
    if promotion.max_redemptions is not None and counted.count() >= promotion.max_redemptions:
        raise PromotionError(f"The code “{promotion.code}” has been used up.")
    if counted.filter(user=user).count() >= promotion.max_per_user:
        raise PromotionError(f"You have already used the code “{promotion.code}”.")
    _usable_terms(promotion)
    if promotion.kind == Promotion.Kind.FREE_GRANT:
        if user.credit_status == "suspended":
            raise PromotionError("Your wallet is suspended: it cannot receive credits.")
        if package is not None:
            raise PromotionError(
                f"The code “{promotion.code}” gives free credits: redeem it without buying."
            )
        return
    if package is None:
        if not pack_chosen:
            return
        raise PromotionError(f"The code “{promotion.code}” gives a bonus on a pack: choose one.")
    if package.is_plan:
        raise PromotionError(f"The code “{promotion.code}” applies to packs, not subscriptions.")
    applies_to = list(promotion.packages.all())
    if applies_to and package not in applies_to:
        raise PromotionError(f"The code “{promotion.code}” does not apply to {package.name}.")


def describe(promotion: Promotion, package: CreditPackage | None) -> str:
    """What the code does, in the words the shop shows."""
    if promotion.kind == Promotion.Kind.FREE_GRANT:
        return f"{promotion.value} free credits"
    if package is not None:
        return f"+{promotion.bonus_for(package)} bonus credits"
    if promotion.kind == Promotion.Kind.BONUS_PERCENT:
        return f"+{promotion.value}% bonus credits on a pack"
    return f"+{promotion.value} bonus credits on a pack"


def preview(*, code: str, user, package: CreditPackage | None) -> str:
    """Check a code before paying; the effect it would have, or a PromotionError."""
    promotion = find_promotion(code)
    check_promotion(promotion=promotion, user=user, package=package)
    return describe(promotion, package)


@dataclass(frozen=True)
class CodeOutcome:
    """What the shop's promo box did with a code."""

    message: str
    # Free credits added to the wallet now; 0 for a bonus code, which applies at checkout.
    credited: int = 0


def apply_code(*, code: str, user, package: CreditPackage | None) -> CodeOutcome:
    """The shop's one promo box, for both kinds of code: a free-credits code is redeemed at
    once; a bonus code is checked (for the chosen pack, if any) and applies to the pack bought
    next. People need not know which kind they hold."""
    promotion = find_promotion(code)
    if promotion.kind == Promotion.Kind.FREE_GRANT:
        redemption = redeem_free_grant(code=code, user=user)
        return CodeOutcome(
            message=f"{figures.credits(redemption.credits)} free credits were added to your wallet",
            credited=redemption.credits,
        )
    check_promotion(promotion=promotion, user=user, package=package, pack_chosen=False)
    return CodeOutcome(
        message=f"{describe(promotion, package)}, applied to the pack you buy next on this page"
    )


def reserve(*, promotion: Promotion, user, package: CreditPackage, purchase) -> Redemption:
    """Take one use of a code for a purchase (the caller holds the promotion's row lock).

    Reserved uses count toward the limits, so two buyers cannot both take the last one; a
    checkout that is never paid releases its use.
    """
    check_promotion(promotion=promotion, user=user, package=package)
    return Redemption.objects.create(
        promotion=promotion,
        user=user,
        purchase=purchase,
        number=_next_number(promotion, user),
        credits=promotion.bonus_for(package),
        status=Redemption.Status.RESERVED,
    )


@transaction.atomic
def redeem_free_grant(*, code: str, user) -> Redemption:
    """Give the credits of a free-grant code, once per the code's limits."""
    promotion = find_promotion(code, lock=True)
    check_promotion(promotion=promotion, user=user, package=None)
    redemption = Redemption.objects.create(
        promotion=promotion,
        user=user,
        number=_next_number(promotion, user),
        credits=promotion.value,
        status=Redemption.Status.USED,
    )
    try:
        credits.grant(
            wallet=user.wallet,
            amount=promotion.value,
            source="promotion",
            expires_at=expiry_for(promotion),
            description=f"Promo code {promotion.code}: {promotion.value:,} free credits",
            reference=Reference(text=promotion.code, obj=redemption),
            actor=BILLING,
            idempotency_key=f"redemption:{redemption.pk}",
        )
    except CreditError as error:
        raise PromotionError(error.message) from error  # rolls the redemption back too
    return redemption


def expiry_for(promotion: Promotion):
    if promotion.credit_lifetime_days is None:
        return None
    return timezone.now() + timedelta(days=promotion.credit_lifetime_days)


def _next_number(promotion: Promotion, user) -> int:
    """The user's next use number; released uses free their number again."""
    taken = set(
        promotion.redemptions.filter(user=user)
        .filter(~Q(status=Redemption.Status.RELEASED))
        .values_list("number", flat=True)
    )
    number = 1
    while number in taken:
        number += 1
    return number
