"""Money coming back: a Stripe refund takes back the refunded share of a purchase's credits; a
chargeback holds them until it is decided, then frees them (won) or takes them back (lost).

Never below zero: what was already spent is recorded on the purchase as a shortfall for staff.
Safe to run again and in any order (see billing.webhooks).
"""

from contextlib import suppress
from decimal import Decimal

from django.db import transaction

from billing import selectors
from billing.models import Purchase
from billing.services.events import unmatched
from billing.services.promotions import BILLING
from billing.stripe_api import from_minor_units, to_minor_units
from credits import services as credits
from credits.errors import CreditRefusal
from credits.models import Hold
from credits.services import Reference


def _purchase_for_charge(charge_or_dispute: dict) -> Purchase | None:
    payment_intent = charge_or_dispute.get("payment_intent")
    purchases = Purchase.objects.select_for_update()
    if payment_intent:
        found = purchases.filter(stripe_payment_intent_id=payment_intent).first()
        if found:
            return found
    metadata = charge_or_dispute.get("metadata") or {}
    if str(metadata.get("purchase_id", "")).isdecimal():
        return purchases.filter(pk=metadata["purchase_id"]).first()
    return None


@transaction.atomic
def charge_refunded(*, charge: dict, event_id: str, event_type: str) -> None:
    """Money went back to the buyer: take back the refunded share of the purchase's credits.

    Never more than the purchase's grants still hold; what is missing (already spent) is
    recorded on the purchase as a shortfall for staff. Keyed on the cumulative refunded amount,
    so each refund is applied once. Stripe's amount_refunded only grows, but its events may
    arrive out of order: an older, smaller amount arriving late changes nothing.
    """
    purchase = _purchase_for_charge(charge)
    if purchase is None:
        unmatched(event_id=event_id, event_type=event_type, reason="no purchase for this charge")
        return
    amount = charge.get("amount") or 0
    refunded = max(
        charge.get("amount_refunded") or 0,
        to_minor_units(purchase.refunded_amount, purchase.currency),
    )
    if not amount or not refunded:
        return
    purchase.stripe_charge_id = charge.get("id", "")
    purchase.receipt_url = charge.get("receipt_url") or purchase.receipt_url
    purchase.refunded_amount = from_minor_units(refunded, purchase.currency)
    if purchase.status != Purchase.Status.DISPUTED:  # else the dispute's closing does this
        _claw_back_refunds(purchase)
        purchase.status = _status_after_refunds(purchase)
    purchase.save()


def _claw_back_refunds(purchase: Purchase) -> None:
    """Take back the refunded share of the purchase's credits not taken back yet.

    Not while a dispute holds them (held credits cannot be revoked): its closing calls this.
    """
    if not purchase.refunded_amount:
        return
    share = min(purchase.refunded_amount / purchase.amount, Decimal(1))
    due = (
        int(purchase.total_credits * share)
        - purchase.clawed_back_credits
        - purchase.clawback_shortfall
    )
    if due > 0:
        refunded = to_minor_units(purchase.refunded_amount, purchase.currency)
        taken = _claw_back(purchase, due, key=f"refund:{purchase.stripe_charge_id}:{refunded}")
        purchase.clawed_back_credits += taken
        purchase.clawback_shortfall += due - taken


def _status_after_refunds(purchase: Purchase) -> str:
    """A paid purchase's status from the money that went back to the buyer."""
    if purchase.dispute_outcome == "lost":
        return Purchase.Status.REFUNDED  # the bank took all of it back
    if purchase.refunded_amount >= purchase.amount:
        return Purchase.Status.REFUNDED
    if purchase.refunded_amount > 0:
        return Purchase.Status.PARTIALLY_REFUNDED
    return Purchase.Status.PAID


def _claw_back(purchase: Purchase, credit_count: int, *, key: str) -> int:
    """Revoke up to `credit_count` from the purchase's grants (paid first); how many it took."""
    taken = 0
    for grant in selectors.purchase_grants(purchase):
        if taken == credit_count:
            break
        try:
            txn = credits.revoke(
                grant=grant,
                amount=credit_count - taken,
                reason=(
                    f"Taken back: the payment for your {purchase.package.name} pack was returned"
                ),
                reference=Reference(text=key, obj=purchase),
                actor=BILLING,
                idempotency_key=f"{key}:grant:{grant.pk}",
            )
        except CreditRefusal:
            txn = None  # a suspended wallet: what could not be taken is the shortfall
        taken += txn.amount if txn else 0
    return taken


# How Stripe leaves a dispute it closed. An inquiry (a "warning") that never became a chargeback
# closes as warning_closed: no money moved, and a real chargeback (a new dispute) may follow.
DISPUTE_CLOSED = ("won", "lost", "warning_closed")
# A chargeback's decision is final: a payment is charged back once, after any inquiries.
DISPUTE_FINAL = ("won", "lost")


def _dispute_settled(purchase: Purchase, dispute: dict) -> bool:
    """Whether this dispute's event can change nothing more: the dispute itself was decided,
    or the payment's chargeback was (won or lost)."""
    return (
        dispute["id"] in purchase.decided_dispute_ids or purchase.dispute_outcome in DISPUTE_FINAL
    )


def _open_dispute_hold(purchase: Purchase) -> Hold | None:
    """The hold a dispute keeps on the purchase's credits, if still open (its reference is the
    dispute's id)."""
    return Hold.objects.filter(pk=purchase.dispute_hold_id, status=Hold.Status.OPEN).first()


def _release_dispute_hold(hold: Hold) -> None:
    # A suspended wallet refuses the release: the hold stays until staff reactivate it.
    with suppress(CreditRefusal):
        credits.release(
            hold=hold, actor=BILLING, idempotency_key=f"dispute:{hold.reference}:release"
        )


@transaction.atomic
def dispute_opened(*, dispute: dict, event_id: str, event_type: str) -> None:
    """A chargeback or inquiry: hold what is left of the purchase's credits until it is decided.

    Its closing may have arrived first (events come in any order): then it was applied, and
    this changes nothing. A chargeback opened after an inquiry holds the credits anew.
    """
    purchase = _purchase_for_charge(dispute)
    if purchase is None:
        unmatched(event_id=event_id, event_type=event_type, reason="no purchase for this dispute")
        return
    if _dispute_settled(purchase, dispute):
        return
    if dispute.get("status") in DISPUTE_CLOSED:
        _close_dispute(purchase, dispute)
        return
    hold = _open_dispute_hold(purchase)
    if hold is None or hold.reference != dispute["id"]:
        if hold is not None:  # an earlier inquiry's hold: this dispute holds the credits now
            _release_dispute_hold(hold)
        grants = selectors.purchase_grants(purchase)
        txn = None
        if grants:
            try:
                txn = credits.hold_grants(
                    grants=grants,
                    description=(
                        f"Held: the payment for your {purchase.package.name} pack is disputed "
                        "with your bank"
                    ),
                    reference=Reference(text=dispute["id"], obj=purchase),
                    actor=BILLING,
                    idempotency_key=f"dispute:{dispute['id']}:hold",
                )
            except CreditRefusal:
                txn = None  # a suspended wallet moves nothing anyway
        purchase.dispute_hold = txn.hold if txn else None
    purchase.status = Purchase.Status.DISPUTED
    purchase.save(update_fields=["status", "dispute_hold"])


@transaction.atomic
def dispute_closed(*, dispute: dict, event_id: str, event_type: str) -> None:
    """Won: the held credits are free again. Lost: they are taken back (the money went back).
    An inquiry closed (warning_closed): its hold is released, and a later chargeback still
    counts.

    Applied once per dispute, whether or not the dispute's opening arrived before it; the
    decided disputes are kept on the purchase so a late opening holds nothing.
    """
    purchase = _purchase_for_charge(dispute)
    if purchase is None:
        unmatched(event_id=event_id, event_type=event_type, reason="no purchase for this dispute")
        return
    if _dispute_settled(purchase, dispute):
        return
    _close_dispute(purchase, dispute)


def _close_dispute(purchase: Purchase, dispute: dict) -> None:
    outcome = dispute.get("status") or ""
    final = outcome in DISPUTE_FINAL
    purchase.decided_dispute_ids = [*purchase.decided_dispute_ids, dispute["id"]]
    purchase.dispute_outcome = outcome
    hold = _open_dispute_hold(purchase)
    if hold is not None and not final and hold.reference != dispute["id"]:
        # An inquiry closed while a later dispute holds the credits: that one settles them.
        purchase.save()
        return
    if hold is not None:
        _release_dispute_hold(hold)
    if outcome == "lost":
        due = purchase.total_credits - purchase.clawed_back_credits - purchase.clawback_shortfall
        taken = _claw_back(purchase, due, key=f"dispute:{dispute['id']}:lost") if due > 0 else 0
        purchase.clawed_back_credits += taken
        purchase.clawback_shortfall += due - taken
    else:
        _claw_back_refunds(purchase)  # any refund that arrived while the credits were held
    purchase.status = _status_after_refunds(purchase)  # won: what it was before the dispute
    purchase.save()
