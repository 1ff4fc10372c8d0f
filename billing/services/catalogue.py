"""The catalogue: packages and promo codes as staff set them up, and each package's Stripe
Product and Price kept in step."""

from django.db import transaction

from billing import stripe_api
from billing.errors import BillingError
from billing.models import CreditPackage, Promotion
from billing.services import promotions
from credits import services as credits
from credits.models import StaffAction


def sync_package(package: CreditPackage) -> str:
    """Create or update the package's Stripe Product and Price; say what changed.

    Stripe Prices cannot change their amount, so a new price makes a new Price and the old one
    is archived (existing subscriptions keep it until they change plan).
    """
    if not stripe_api.configured():
        raise BillingError("Stripe is not configured (STRIPE_SECRET_KEY is empty).")
    done = []
    product = {"name": package.name, "metadata": {"package_id": str(package.pk)}}
    if package.description:
        product["description"] = package.description
    if not package.stripe_product_id:
        created = stripe_api.create_product(
            idempotency_key=f"package-{package.pk}-product", **product
        )
        package.stripe_product_id = created["id"]
        package.save(update_fields=["stripe_product_id"])
        done.append("product created")
    else:
        stripe_api.modify_product(package.stripe_product_id, **product)
    if package.needs_stripe_sync:
        old_price = package.stripe_price_id
        created = stripe_api.create_price(
            # One key per change (from the old Price), so going back to an earlier price later
            # makes a new Price rather than replaying the archived one.
            idempotency_key=(
                f"package-{package.pk}-price-after-{old_price or 'none'}-"
                f"{package.price}-{package.currency}-{package.interval}"
            ),
            **_price(package),
        )
        package.stripe_price_id = created["id"]
        package.stripe_price_amount = package.price
        package.stripe_price_currency = package.currency
        package.stripe_price_interval = package.interval
        package.save(
            update_fields=[
                "stripe_price_id",
                "stripe_price_amount",
                "stripe_price_currency",
                "stripe_price_interval",
            ]
        )
        done.append("new price created")
        if old_price:
            stripe_api.archive_price(old_price)
            done.append(f"old price {old_price} archived")
    return ", ".join(done) or "already up to date"


def _price(package: CreditPackage) -> dict:
    params = {
        "product": package.stripe_product_id,
        "unit_amount": stripe_api.to_minor_units(package.price, package.currency),
        "currency": package.currency,
        "metadata": {"package_id": str(package.pk), "credits": str(package.credits)},
    }
    if package.is_plan:
        params["recurring"] = {"interval": package.interval}
    return params


@transaction.atomic
def save_by_staff(obj: CreditPackage | Promotion, *, staff, created: bool) -> None:
    """Save a package or promo code a staff member set up or changed, and say so in the staff
    audit trail; a promo code remembers who set it up and who last changed it (neither may
    redeem it)."""
    if isinstance(obj, Promotion):
        promotions.check_terms(obj)
        obj.code = obj.code.strip()
        if created:
            obj.created_by = staff
        obj.changed_by = staff
        kind, what = StaffAction.Kind.PROMOTION_CHANGED, _promotion_terms(obj)
    else:
        kind, what = StaffAction.Kind.PACKAGE_CHANGED, _package_terms(obj)
    obj.save()
    credits.record_staff_action(
        staff_id=staff.pk,
        kind=kind,
        reason=f"{'Set up' if created else 'Changed'} {what}",
        reference=obj,
    )


def _promotion_terms(promotion: Promotion) -> str:
    limit = promotion.max_redemptions if promotion.max_redemptions is not None else "unlimited"
    return (
        f"promo code {promotion.code}: {promotion.get_kind_display().lower()} {promotion.value}, "
        f"{limit} redemptions, {promotion.max_per_user} per user, "
        f"{'active' if promotion.is_active else 'inactive'}"
    )


def _package_terms(package: CreditPackage) -> str:
    return (
        f"package {package.name}: {package.credits} credits for {package.price} "
        f"{package.currency.upper()}, {'active' if package.is_active else 'inactive'}"
    )
