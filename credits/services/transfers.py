"""Paid credits from one user's wallet to another's, within a daily limit."""

from datetime import datetime, time

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from credits.actors import Actor
from credits.errors import (
    InsufficientCredits,
    InvalidRequest,
    TransferLimitExceeded,
    TransferNotAllowed,
)
from credits.models import CreditGrant, CreditTransaction, Wallet
from credits.services import one_call
from credits.services.burn_down import burn_down, expire_due, is_expired, take_from_grants
from credits.services.locks import lock_wallets, spendable_grants
from credits.services.operation import run_operation
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
# The ledger's own key in a transfer's metadata: which wallet received it.
RECEIVER_KEY = "receiver_wallet"


def transfer(
    *,
    sender: Wallet,
    receiver: Wallet,
    amount: int,
    actor: Actor,
    idempotency_key: str,
    description: str = "",
    metadata: dict | None = None,
) -> CreditTransaction:
    """Move paid credits from one user's wallet to another's, within the daily limit.

    Promotional credits and staff grants cannot be transferred (`transferable`). The receiver
    gets one grant per source grant,
    with the same expiry and cost basis, so a transfer never extends a credit's life. The
    caller's `metadata` (rules.check_metadata) is kept beside the ledger's `receiver_wallet`.
    """
    check_amount(amount)
    description = check_text(description, what="The description")
    metadata = check_metadata(metadata, reserved=(RECEIVER_KEY,))
    if sender.pk == receiver.pk:
        raise InvalidRequest("Credits cannot be transferred to the same wallet.")
    params = {
        "sender": sender.pk,
        "receiver": receiver.pk,
        "amount": amount,
        "description": description,
        **({"metadata": metadata} if metadata else {}),  # keys of before keep their fingerprint
    }

    def perform(posting, claim):
        locked_sender, locked_receiver = lock_wallets(sender.pk, receiver.pk)
        _refuse_parties_or_limit(locked_sender, locked_receiver, amount, now=posting.now)
        grants = spendable_grants(locked_sender.pk)
        grants = expire_due(posting, locked_sender, grants)
        paid = [grant for grant in grants if transferable(grant)]
        _refuse_beyond_paid(paid, amount)  # the expiries found on the way stand
        plan = burn_down(paid, amount)
        # Through the transfers account, which every transfer leaves as it found it: the
        # platform's books show transfers as they show purchases and spends.
        clearing = system_wallet_id("transfers")
        txn = posting.add_transaction(
            kind=Kind.TRANSFER,
            wallet=locked_sender,
            amount=amount,
            legs=[
                (locked_sender, -amount),
                (clearing, amount),
                (clearing, -amount),
                (locked_receiver, amount),
            ],
            description=description,
            metadata={**(metadata or {}), RECEIVER_KEY: locked_receiver.pk},
            primary=True,
        )
        take_from_grants(posting, txn, plan)
        for source_grant, take in plan:
            posting.add_grant(
                txn,
                CreditGrant(
                    wallet=locked_receiver,
                    source=Source.TRANSFER,
                    amount=take,
                    remaining=take,
                    expires_at=source_grant.expires_at,
                    is_promotional=False,
                    cost_basis=source_grant.cost_basis,
                    currency=source_grant.currency,
                ),
            )
        return txn

    def in_one_call(call):
        return one_call.transfer(
            call,
            actor=actor,
            sender=sender,
            receiver=receiver,
            amount=amount,
            description=description,
            metadata={**(metadata or {}), RECEIVER_KEY: receiver.pk},
            clearing_id=system_wallet_id("transfers"),
            limit=settings.CREDITS_DAILY_TRANSFER_LIMIT,
            day_start=start_of_day(call.now),
        )

    return run_operation(
        actor=actor,
        key=idempotency_key,
        operation="transfer",
        params=params,
        perform=perform,
        one_call=in_one_call,
    )


def check_transfer(*, sender: Wallet, receiver: Wallet, amount: int) -> None:
    """Raise the refusal `transfer` would give now, moving nothing: the confirmation step asks
    this first, so nobody confirms a transfer that cannot happen. (`transfer` decides again
    under its locks: this is advice, not a reservation.)"""
    check_amount(amount)
    if sender.pk == receiver.pk:
        raise InvalidRequest("Credits cannot be transferred to the same wallet.")
    now = timezone.now()
    current_sender = Wallet.objects.get(pk=sender.pk)
    _refuse_parties_or_limit(current_sender, Wallet.objects.get(pk=receiver.pk), amount, now=now)
    grants = spendable_grants(sender.pk)
    _refuse_beyond_paid([g for g in grants if transferable(g) and not is_expired(g, now)], amount)


def _refuse_parties_or_limit(sender: Wallet, receiver: Wallet, amount: int, *, now) -> None:
    require_status(sender, allowed=MAY_SPEND)
    if receiver.status not in MAY_RECEIVE:
        raise TransferNotAllowed("The receiving wallet is suspended: it cannot receive credits.")
    left_today = transfer_allowance(wallet=sender, now=now)
    if left_today is not None and amount > left_today:
        raise TransferLimitExceeded(
            f"This transfer exceeds the daily limit: {left_today} credits left today."
        )


def transferable(grant: CreditGrant) -> bool:
    """Credits someone paid for (bought, subscribed, received, refunded) move on; promotional
    ones do not, nor those staff granted: a staff member's grant to an account they control
    must not find its way, by transfer, into their own wallet."""
    return not grant.is_promotional and grant.source != Source.ADMIN


def _refuse_beyond_paid(paid: list[CreditGrant], amount: int) -> None:
    movable = sum(grant.remaining for grant in paid)
    if amount > movable:
        raise InsufficientCredits(
            f"Not enough paid credits: {amount} asked, {movable} can be transferred "
            "(promotional credits and credits granted by staff cannot be)."
        )


def transfer_allowance(*, wallet: Wallet, now: datetime | None = None) -> int | None:
    """Credits the wallet may still transfer today (UTC day); None when there is no limit."""
    limit = settings.CREDITS_DAILY_TRANSFER_LIMIT
    if limit is None:
        return None
    now = now or timezone.now()
    sent = (
        CreditTransaction.objects.filter(
            wallet=wallet, kind=Kind.TRANSFER, created_at__gte=start_of_day(now)
        ).aggregate(total=Sum("amount"))["total"]
        or 0
    )
    return max(limit - sent, 0)


def start_of_day(now: datetime) -> datetime:
    """The start of the (UTC) day the daily limit counts from."""
    return datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
