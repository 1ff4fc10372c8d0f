"""Credits in and out of wallets: grant, spend, adjust, refund, revoke (transfers: transfers)."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from credits.actors import Actor
from credits.errors import (
    InvalidRequest,
    RefundNotAllowed,
)
from credits.models import Allocation, CreditGrant, CreditTransaction, Wallet
from credits.services import one_call
from credits.services.burn_down import (
    burn_down,
    expire_due,
    is_expired,
    take_from_grants,
    unexpired_covering,
)
from credits.services.locks import lock_grant, lock_wallets
from credits.services.operation import run_operation
from credits.services.posting import Posting, Reference
from credits.services.rules import (
    MAY_RECEIVE,
    MAY_SPEND,
    Kind,
    check_amount,
    check_metadata,
    check_text,
    require_status,
)
from credits.services.system_accounts import system_wallet_id

Source = CreditGrant.Source

# Where granted credits come from, by the grant's source.
GRANT_ACCOUNTS = {
    Source.PURCHASE: "purchases",
    Source.SUBSCRIPTION: "subscriptions",
    Source.PROMOTION: "promotions",
    Source.ADMIN: "adjustments",
}
# Transactions whose credits a refund may give back.
REFUNDABLE_KINDS = (Kind.SPEND, Kind.CAPTURE, Kind.ADJUSTMENT, Kind.EXPIRY)


def grant(
    *,
    wallet: Wallet,
    amount: int,
    source: str,
    actor: Actor,
    idempotency_key: str,
    expires_at: datetime | None = None,
    priority: int = 50,
    is_promotional: bool | None = None,
    cost_basis: Decimal | None = None,
    currency: str = "",
    description: str = "",
    reference: Reference | None = None,
    metadata: dict | None = None,
) -> CreditTransaction:
    """Add a block of credits to a wallet, from the system account of its source."""
    check_amount(amount)
    if source not in GRANT_ACCOUNTS:
        raise InvalidRequest(f"Credits cannot be granted from source {source!r}.")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidRequest("The expiry must be in the future.")
    if not isinstance(priority, int) or not 0 <= priority <= 100:
        raise InvalidRequest("The priority must be a whole number from 0 to 100.")
    if is_promotional is None:
        is_promotional = source == Source.PROMOTION
    cost_basis, currency = _check_cost_basis(cost_basis, currency)
    description = check_text(description, what="The description")
    reference = reference or Reference()
    params = {
        "wallet": wallet.pk,
        "amount": amount,
        "source": source,
        "expires_at": expires_at,
        "priority": priority,
        "is_promotional": is_promotional,
        "cost_basis": cost_basis,
        "currency": currency,
        "description": description,
        "metadata": metadata,
        **reference.as_params(),
    }

    def perform(posting, claim):
        (locked,) = lock_wallets(wallet.pk)
        require_status(locked, allowed=MAY_RECEIVE)
        txn = posting.add_transaction(
            kind=Kind.GRANT,
            wallet=locked,
            amount=amount,
            legs=[(system_wallet_id(GRANT_ACCOUNTS[source]), -amount), (locked, amount)],
            description=description,
            reference=reference,
            metadata=metadata,
            primary=True,
        )
        posting.add_grant(
            txn,
            CreditGrant(
                wallet=locked,
                source=source,
                amount=amount,
                remaining=amount,
                expires_at=expires_at,
                priority=priority,
                is_promotional=is_promotional,
                cost_basis=cost_basis,
                currency=currency,
            ),
        )
        return txn

    return run_operation(
        actor=actor, key=idempotency_key, operation="grant", params=params, perform=perform
    )


def spend(
    *,
    wallet: Wallet,
    amount: int,
    actor: Actor,
    idempotency_key: str,
    description: str = "",
    reference: Reference | None = None,
    metadata: dict | None = None,
) -> CreditTransaction:
    """Consume credits from a wallet, grant by grant in burn-down order. `metadata` is the
    caller's (rules.check_metadata), kept on the transaction."""
    return _debit(
        kind=Kind.SPEND,
        counter_account="consumption",
        allowed=MAY_SPEND,
        wallet=wallet,
        amount=amount,
        actor=actor,
        idempotency_key=idempotency_key,
        description=check_text(description, what="The description"),
        reference=reference,
        metadata=check_metadata(metadata),
    )


def adjust(
    *,
    wallet: Wallet,
    amount: int,
    reason: str,
    actor: Actor,
    idempotency_key: str,
    reference: Reference | None = None,
    metadata: dict | None = None,
) -> CreditTransaction:
    """Staff deduct credits (same burn-down as a spend); works on frozen wallets too."""
    return _debit(
        kind=Kind.ADJUSTMENT,
        counter_account="adjustments",
        allowed=MAY_RECEIVE,
        wallet=wallet,
        amount=amount,
        actor=actor,
        idempotency_key=idempotency_key,
        description=check_text(reason, what="A reason", required=True),
        reference=reference,
        metadata=metadata,
    )


def _debit(
    *,
    kind: str,
    counter_account: str,
    allowed: tuple[str, ...],
    wallet: Wallet,
    amount: int,
    actor: Actor,
    idempotency_key: str,
    description: str,
    reference: Reference | None,
    metadata: dict | None,
) -> CreditTransaction:
    check_amount(amount)
    reference = reference or Reference()
    params = {
        "wallet": wallet.pk,
        "amount": amount,
        "description": description,
        "metadata": metadata,
        **reference.as_params(),
    }

    def perform(posting, claim):
        locked = claim.wallet
        if kind == Kind.SPEND:
            posting.actor.check_charge(locked, amount, posting.now)
        grants = unexpired_covering(posting, locked, claim.grants, amount=amount, allowed=allowed)
        txn = posting.add_transaction(
            kind=kind,
            wallet=locked,
            amount=amount,
            legs=[(locked, -amount), (system_wallet_id(counter_account), amount)],
            description=description,
            reference=reference,
            metadata=metadata,
            primary=True,
        )
        take_from_grants(posting, txn, burn_down(grants, amount))
        return txn

    def in_one_call(call):
        return one_call.take(
            call,
            kind=kind,
            actor=actor,
            wallet=wallet,
            amount=amount,
            counter_wallet_id=system_wallet_id(counter_account),
            description=description,
            reference=reference,
            metadata=metadata,
        )

    return run_operation(
        actor=actor,
        key=idempotency_key,
        operation=kind,
        params=params,
        perform=perform,
        lock_wallet=wallet.pk,
        one_call=in_one_call if kind == Kind.SPEND else None,
    )


def refund(
    *,
    transaction: CreditTransaction,
    actor: Actor,
    idempotency_key: str,
    amount: int | None = None,
    description: str = "",
    reference: Reference | None = None,
) -> CreditTransaction:
    """Give back all or part of a spend, capture, adjustment or expiry.

    Credits return to the grants they came from, in the order the original recorded them
    (continuing after earlier partial refunds). A grant that has expired meanwhile does not
    take them back: they go to a new refund grant that lives for the refund grace period.
    """
    if amount is not None:
        check_amount(amount)
    description = check_text(description, what="The description")
    reference = reference or Reference()
    params = {
        "transaction": transaction.pk,
        "amount": amount,
        "description": description,
        **reference.as_params(),
    }

    def perform(posting, claim):
        (locked,) = lock_wallets(transaction.wallet_id)
        require_status(locked, allowed=MAY_RECEIVE)
        if transaction.kind not in REFUNDABLE_KINDS:
            raise RefundNotAllowed(
                f"A {transaction.get_kind_display().lower()} cannot be refunded; only spends, "
                "captures, adjustments and expiries can."
            )
        already = refunded_amount(transaction)
        refundable = transaction.amount - already
        to_refund = refundable if amount is None else amount
        if refundable == 0:
            raise RefundNotAllowed("This transaction has already been refunded in full.")
        if to_refund > refundable:
            raise RefundNotAllowed(
                f"Only {refundable} of this transaction's {transaction.amount} credits can "
                "still be refunded."
            )
        txn = posting.add_transaction(
            kind=Kind.REFUND,
            wallet=locked,
            amount=to_refund,
            legs=[(system_wallet_id("refunds"), -to_refund), (locked, to_refund)],
            description=description or f"Refund of transaction #{transaction.pk}",
            reference=reference,
            reverses=transaction,
            primary=True,
        )
        _give_back_refunded(posting, txn, _refund_portions(transaction, already, to_refund))
        return txn

    return run_operation(
        actor=actor, key=idempotency_key, operation="refund", params=params, perform=perform
    )


def refunded_amount(transaction: CreditTransaction) -> int:
    return (
        CreditTransaction.objects.filter(reverses=transaction, kind=Kind.REFUND).aggregate(
            total=Sum("amount")
        )["total"]
        or 0
    )


def _refund_portions(
    original: CreditTransaction, already: int, amount: int
) -> list[tuple[CreditGrant, int]]:
    """The next `amount` credits of the original's allocations, after the `already` refunded."""
    portions = []
    skip, left = already, amount
    allocations = Allocation.objects.filter(transaction=original).select_related("grant")
    for allocation in allocations.order_by("id"):
        usable = allocation.amount - min(skip, allocation.amount)
        skip = max(skip - allocation.amount, 0)
        take = min(usable, left)
        if take:
            portions.append((allocation.grant, take))
            left -= take
        if left == 0:
            break
    return portions


def _give_back_refunded(posting: Posting, txn, portions: list[tuple[CreditGrant, int]]) -> None:
    grace = timedelta(days=settings.CREDITS_REFUND_GRACE_DAYS)
    grants: dict[int, CreditGrant] = {}
    for portion_grant, amount in portions:
        grant = grants.setdefault(portion_grant.pk, portion_grant)
        if is_expired(grant, posting.now):
            posting.add_grant(
                txn,
                CreditGrant(
                    wallet_id=grant.wallet_id,
                    source=Source.REFUND,
                    amount=amount,
                    remaining=amount,
                    expires_at=posting.now + grace,
                    priority=grant.priority,
                    is_promotional=grant.is_promotional,
                    cost_basis=grant.cost_basis,
                    currency=grant.currency,
                ),
            )
        else:
            grant.remaining += amount
            posting.grant_changed(grant)
            posting.allocate(txn, grant, amount)


def revoke(
    *,
    grant: CreditGrant,
    amount: int,
    reason: str,
    actor: Actor,
    idempotency_key: str,
    reference: Reference | None = None,
) -> CreditTransaction | None:
    """Take back up to `amount` of one grant's remaining credits (money returned to the payer).

    Never takes more than the grant still holds; returns None when it holds nothing. The
    caller compares the transaction's amount with what it asked to learn any shortfall.
    """
    check_amount(amount)
    reason = check_text(reason, what="A reason", required=True)
    reference = reference or Reference()
    params = {"grant": grant.pk, "amount": amount, "reason": reason, **reference.as_params()}

    def perform(posting, claim):
        locked, current = lock_grant(grant.pk)
        require_status(locked, allowed=MAY_RECEIVE)
        expire_due(posting, locked, [current])
        take = min(amount, current.remaining)
        if take == 0:
            return None
        txn = posting.add_transaction(
            kind=Kind.REVOCATION,
            wallet=locked,
            amount=take,
            legs=[(locked, -take), (system_wallet_id(_source_account(current)), take)],
            description=reason,
            reference=reference,
            primary=True,
        )
        take_from_grants(posting, txn, [(current, take)])
        return txn

    return run_operation(
        actor=actor, key=idempotency_key, operation="revoke", params=params, perform=perform
    )


def _source_account(grant: CreditGrant) -> str:
    """The system account a grant's credits go back to when revoked."""
    return GRANT_ACCOUNTS.get(grant.source, "adjustments")


def _check_cost_basis(cost_basis: Decimal | None, currency: str) -> tuple[Decimal | None, str]:
    if cost_basis is None:
        return None, ""
    if not isinstance(cost_basis, Decimal) or cost_basis < 0:
        raise InvalidRequest("The cost basis must be a Decimal amount of money, not negative.")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isalpha()):
        raise InvalidRequest("A cost basis needs a three-letter currency code.")
    return cost_basis, currency.lower()
