"""A pack purchase's credits follow from the facts Stripe told us about its payment, whatever
order they came in (Stripe does not order deliveries across objects: a refund or a dispute may
arrive before the checkout that paid).

The facts, each recorded on the purchase by its event's handler, and each only ever growing:
paid (`paid_at`, with the amount and payment intent), the refunded amount (the largest Stripe
reported), and the disputes (open ones, decided ones and the strongest outcome). `settle` then
posts only the difference between what the ledger should hold for the purchase and what it
already did: the pack is granted once when the payment is recorded; the refunded share (all of
it, once a dispute is lost) is taken back; while a dispute is open what is left is held.

Every posting's key names the state it moves to, so a redelivery replays and a new fact posts
only what it adds. Never below zero: what was already spent is recorded as a shortfall.
"""

from contextlib import suppress
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from billing import selectors
from billing.models import MoneyBack, Purchase, Redemption, SubscriptionInvoice
from billing.services import announcements
from billing.services.events import grant_for_event
from billing.services.promotions import BILLING, expiry_for
from billing.stripe_api import from_minor_units
from credits import services as credits
from credits.errors import CreditRefusal
from credits.models import CreditGrant, Hold
from credits.services import Reference

# The ledger keeps a cost basis to 8 places (CreditGrant.cost_basis).
COST_BASIS_PLACES = Decimal("0.00000001")

# How Stripe leaves a dispute it closed. An inquiry (a "warning") that never became a chargeback
# closes as warning_closed: no money moved, and a real chargeback (a new dispute) may follow.
DISPUTE_CLOSED = ("won", "lost", "warning_closed")
# A chargeback's decision is final: a payment is charged back once, after any inquiries.
DISPUTE_FINAL = ("won", "lost")
# The purchase's outcome over all its decided disputes, weakest first: the strongest one
# counts, whichever was decided (or arrived) last.
OUTCOME_STRENGTH = ("", "warning_closed", "won", "lost")


# --- Recording the facts ------------------------------------------------------------------------


def record_payment(purchase: Purchase, session: dict) -> bool:
    """The session says it was paid: record it once. Whether this is the first time (the pack is
    then granted by `settle`)."""
    if purchase.paid_at is not None:
        return False
    purchase.paid_at = timezone.now()
    purchase.stripe_checkout_session_id = session["id"]
    record_payment_intent(purchase, session.get("payment_intent"))
    if session.get("amount_total") is not None:
        purchase.amount = from_minor_units(session["amount_total"], purchase.currency)
    return True


def record_payment_intent(purchase: Purchase, payment_intent: str | None) -> None:
    """The payment's intent, from whichever event names it first: refunds and disputes are
    matched by it."""
    if payment_intent and not purchase.stripe_payment_intent_id:
        purchase.stripe_payment_intent_id = payment_intent


def record_refunded(purchase: Purchase, refunded: Decimal) -> None:
    """Stripe's refunded amount only grows: an older, smaller one arriving late changes nothing.
    What it grew by went back to the buyer now (revenue counts it in this month)."""
    grown = refunded - purchase.refunded_amount
    if grown <= 0:
        return
    purchase.refunded_amount = refunded
    record_money_back(purchase, MoneyBack.Kind.REFUND, grown)


def record_dispute(
    purchase: Purchase, dispute_id: str, status: str, *, closed: bool, amount: Decimal | None
) -> None:
    """A dispute's status: once decided it stays decided (a late `created` changes nothing).

    A dispute Stripe closed is decided whatever status it names: one closed without a
    chargeback decided (`charge_refunded`, `prevented`) moved no money itself, as an inquiry
    closed, and must not hold the credits for ever."""
    if dispute_id in purchase.decided_dispute_ids:
        return
    if closed and status not in DISPUTE_CLOSED:
        status = "warning_closed"
    if status not in DISPUTE_CLOSED:
        if dispute_id not in purchase.open_dispute_ids:
            purchase.open_dispute_ids = sorted([*purchase.open_dispute_ids, dispute_id])
        return
    purchase.open_dispute_ids = [id_ for id_ in purchase.open_dispute_ids if id_ != dispute_id]
    purchase.decided_dispute_ids = [*purchase.decided_dispute_ids, dispute_id]
    if status == "lost" and purchase.dispute_outcome != "lost":
        _record_chargeback(purchase, amount)
    purchase.dispute_outcome = max(purchase.dispute_outcome, status, key=OUTCOME_STRENGTH.index)


def _record_chargeback(purchase: Purchase, disputed: Decimal | None) -> None:
    """A chargeback lost took the disputed amount back (a payment is charged back once)."""
    record_money_back(purchase, MoneyBack.Kind.CHARGEBACK, disputed)


def record_money_back(
    paid: Purchase | SubscriptionInvoice,
    kind: str,
    amount: Decimal | None,
    *,
    told_at: datetime | None = None,
) -> None:
    """Money back of a purchase or an invoice (`amount` None: all that is left), dated when
    Stripe told us (`told_at`, default now).

    Never more back than was paid, whatever order Stripe's events came in: a refund that
    happened before a chargeback but arrives after it adds only what is left (nothing)."""
    so_far = paid.money_back.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    left = paid.amount - so_far
    amount = left if amount is None else min(amount, left)
    if amount > 0:
        paid.money_back.create(
            kind=kind,
            amount=amount,
            currency=paid.currency,
            created_at=told_at or timezone.now(),
        )


# --- Deriving the ledger from them --------------------------------------------------------------


def settle(purchase: Purchase, *, event_id: str, event_type: str, newly_paid: bool = False):
    """Bring the purchase's credits and status to what its facts say, and save it.

    The purchase row is locked by the caller: one event of a payment at a time.
    """
    if purchase.paid_at is None:
        purchase.save()  # the facts wait for the payment: nothing was granted to move
        return
    if newly_paid:
        _grant_pack(purchase, event_id=event_id, event_type=event_type)
        announcements.purchase_paid(purchase)
    _take_back_due(purchase)
    _hold_while_disputed(purchase)
    purchase.status = _status(purchase)
    purchase.save()


def _grant_pack(purchase: Purchase, *, event_id: str, event_type: str) -> None:
    session_id = purchase.stripe_checkout_session_id
    reference = Reference(text=f"Stripe checkout {session_id}", obj=purchase)
    package = purchase.package
    grant_for_event(
        event_id=event_id,
        event_type=event_type,
        wallet=purchase.user.wallet,
        amount=purchase.credits,
        source=CreditGrant.Source.PURCHASE,
        cost_basis=(purchase.amount / purchase.credits).quantize(COST_BASIS_PLACES),
        currency=purchase.currency,
        description=f"Purchase: {package.name} pack, {purchase.credits:,} credits",
        reference=reference,
        idempotency_key=f"checkout:{session_id}",
    )
    redemption = getattr(purchase, "redemption", None)
    if redemption is not None:
        redemption.status = Redemption.Status.USED
        redemption.save(update_fields=["status"])
    if purchase.bonus_credits:
        grant_for_event(
            event_id=event_id,
            event_type=event_type,
            wallet=purchase.user.wallet,
            amount=purchase.bonus_credits,
            source=CreditGrant.Source.PROMOTION,
            expires_at=expiry_for(purchase.promotion),
            description=(
                f"Bonus: {purchase.bonus_credits:,} credits with code {purchase.promotion.code}"
            ),
            reference=reference,
            idempotency_key=f"checkout:{session_id}:bonus",
        )


def credits_to_take_back(purchase: Purchase) -> int:
    """How many of the purchase's credits the money that went back stands for: all of them once
    a chargeback is lost, else the refunded share (bonus included)."""
    if purchase.dispute_outcome == "lost":
        return purchase.total_credits
    if not purchase.refunded_amount or not purchase.amount:
        return 0
    share = min(purchase.refunded_amount / purchase.amount, Decimal(1))
    return int(purchase.total_credits * share)


def _take_back_due(purchase: Purchase) -> None:
    """Take back what the facts say and was not taken yet; what is missing (already spent) is
    the shortfall. Held credits cannot be revoked: a dispute's hold is released first, and
    `_hold_while_disputed` holds what is left again."""
    target = credits_to_take_back(purchase)
    due = target - purchase.clawed_back_credits - purchase.clawback_shortfall
    if due <= 0:
        return
    hold = _open_dispute_hold(purchase)
    if hold is not None:
        _release(hold)
    taken = claw_back(
        selectors.purchase_grants(purchase),
        due,
        reason=f"Taken back: the payment for your {purchase.package.name} pack was returned",
        key=f"purchase:{purchase.pk}:take-back-to:{target}",
        paid=purchase,
    )
    purchase.clawed_back_credits += taken
    purchase.clawback_shortfall += due - taken


def claw_back(
    grants: list[CreditGrant],
    credit_count: int,
    *,
    reason: str,
    key: str,
    paid: Purchase | SubscriptionInvoice,
) -> int:
    """Revoke up to `credit_count` from `grants`, in their order, for the money that went back
    for `paid` (a purchase or an invoice); how many it took."""
    taken = 0
    for grant in grants:
        if taken == credit_count:
            break
        try:
            txn = credits.revoke(
                grant=grant,
                amount=credit_count - taken,
                reason=reason,
                reference=Reference(text=key, obj=paid),
                actor=BILLING,
                idempotency_key=f"{key}:grant:{grant.pk}",
            )
        except CreditRefusal:
            txn = None  # a suspended wallet: what could not be taken is the shortfall
        taken += txn.amount if txn else 0
    return taken


def is_held(purchase: Purchase) -> bool:
    """While a dispute is open, and no chargeback of the payment was decided, the credits wait."""
    return bool(purchase.open_dispute_ids) and purchase.dispute_outcome not in DISPUTE_FINAL


def _hold_while_disputed(purchase: Purchase) -> None:
    hold = _open_dispute_hold(purchase)
    if not is_held(purchase):
        if hold is not None:
            _release(hold)
        return
    if hold is not None:
        return  # already held, whichever of the open disputes placed it
    grants = selectors.purchase_grants(purchase)
    dispute_id = purchase.open_dispute_ids[0]
    taken = purchase.clawed_back_credits + purchase.clawback_shortfall
    txn = None
    if grants:
        try:
            txn = credits.hold_grants(
                grants=grants,
                description=(
                    f"Held: the payment for your {purchase.package.name} pack is disputed "
                    "with your bank"
                ),
                reference=Reference(text=dispute_id, obj=purchase),
                actor=BILLING,
                # A hold released for a refund is placed again after it: a new key each time.
                idempotency_key=f"dispute:{dispute_id}:hold:after:{taken}",
            )
        except CreditRefusal:
            txn = None  # a suspended wallet moves nothing anyway
    purchase.dispute_hold = txn.hold if txn else None


def _open_dispute_hold(purchase: Purchase) -> Hold | None:
    """The hold a dispute keeps on the purchase's credits, if still open."""
    if purchase.dispute_hold_id is None:
        return None
    return Hold.objects.filter(pk=purchase.dispute_hold_id, status=Hold.Status.OPEN).first()


def _release(hold: Hold) -> None:
    # A suspended wallet refuses the release: the hold stays until staff reactivate it.
    with suppress(CreditRefusal):
        credits.release(hold=hold, actor=BILLING, idempotency_key=f"dispute-hold:{hold.pk}:release")


def _status(purchase: Purchase) -> str:
    """A paid purchase's status from the money that went back to the buyer."""
    if purchase.dispute_outcome == "lost":
        return Purchase.Status.REFUNDED  # the bank took all of it back
    if is_held(purchase):
        return Purchase.Status.DISPUTED
    if purchase.refunded_amount >= purchase.amount:
        return Purchase.Status.REFUNDED
    if purchase.refunded_amount > 0:
        return Purchase.Status.PARTIALLY_REFUNDED
    return Purchase.Status.PAID
