"""A stateful property test: random sequences of every operation over a few wallets, checked
after each step against a small in-memory model of the ledger and against credits_reconcile.

The model is written independently of the services, as plainly as possible: if the two ever
disagree on a balance, a grant's remainder or whether a request is refused, the test shows the
shortest sequence of operations that makes them disagree.
"""

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from credits import services
from credits.errors import (
    CaptureExceedsHold,
    CreditError,
    HoldNotOpen,
    InsufficientCredits,
    InvalidRequest,
    RefundNotAllowed,
    TransferNotAllowed,
    WalletNotActive,
)
from credits.models import CreditGrant, Hold, Wallet
from credits.reconciliation import reconcile
from credits.services.wallets import TRANSITIONS
from tests.credits.conftest import ACTOR, key
from tests.factories import UserFactory

WALLETS = 3
GRACE_DAYS = 30


@dataclass
class ModelGrant:
    pk: int
    remaining: int
    expires_at: datetime | None
    promotional: bool
    priority: int

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass
class ModelWallet:
    pk: int
    status: str = "active"
    balance: int = 0
    held: int = 0
    grants: list[ModelGrant] = field(default_factory=list)

    @property
    def available(self) -> int:
        return self.balance - self.held

    def in_burn_down_order(self) -> list[ModelGrant]:
        # priority, soonest expiry (never last), promotional before paid, oldest (pk order)
        def order(grant: ModelGrant):
            never = grant.expires_at is None
            return (
                grant.priority,
                never,
                grant.expires_at or datetime.min.replace(tzinfo=UTC),
                not grant.promotional,
                grant.pk,
            )

        return sorted((g for g in self.grants if g.remaining > 0), key=order)


@dataclass
class ModelHold:
    pk: int
    wallet: ModelWallet
    amount: int
    expires_at: datetime
    earmarks: list[tuple[ModelGrant, int]]
    captured: int = 0
    status: str = "open"


@dataclass
class ModelDebit:
    """A spend, capture or adjustment, with what it took from which grant (for refunds)."""

    txn: object
    wallet: ModelWallet
    amount: int
    portions: list[tuple[ModelGrant, int]]
    refunded: int = 0


def take(portions: list[tuple[ModelGrant, int]], skip: int, amount: int):
    """The `amount` credits after the first `skip` of `portions`."""
    chosen = []
    for grant, portion in portions:
        usable = portion - min(skip, portion)
        skip = max(skip - portion, 0)
        part = min(usable, amount)
        if part:
            chosen.append((grant, part))
            amount -= part
    return chosen


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._clock = time_machine.travel(datetime(2030, 1, 1, tzinfo=UTC), tick=False)
        self._time = self._clock.start()
        self.db_wallets = [UserFactory().wallet for _ in range(WALLETS)]
        self.wallets = [ModelWallet(pk=wallet.pk) for wallet in self.db_wallets]
        self.holds: list[ModelHold] = []
        self.debits: list[ModelDebit] = []

    def teardown(self):
        self._clock.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @property
    def now(self) -> datetime:
        return timezone.now()

    # --- the model's rules ----------------------------------------------------------------

    def expire_due(self, wallet: ModelWallet, grants=None) -> None:
        for grant in grants if grants is not None else wallet.grants:
            if grant.expired(self.now) and grant.remaining > 0:
                wallet.balance -= grant.remaining
                grant.remaining = 0

    def burn(self, grants: list[ModelGrant], amount: int) -> list[tuple[ModelGrant, int]]:
        portions = []
        for grant in grants:
            part = min(grant.remaining, amount)
            if part:
                grant.remaining -= part
                portions.append((grant, part))
                amount -= part
        assert amount == 0
        return portions

    def give_back(self, wallet: ModelWallet, portions) -> None:
        for grant, part in portions:
            grant.remaining += part
        self.expire_due(wallet, [grant for grant, _ in portions])

    def expect(self, expected: type[CreditError] | None, call):
        """Run the service call; the model said it succeeds (None) or is refused (a class)."""
        if expected is None:
            return call()
        with pytest.raises(expected):
            call()
        return None

    def add_grants_from(self, wallet: ModelWallet, txn, templates) -> None:
        created = list(CreditGrant.objects.filter(transaction=txn).order_by("id"))
        assert len(created) == len(templates)
        for grant, (owner, remaining, expires_at, promotional, priority) in zip(
            created, templates, strict=True
        ):
            owner.grants.append(ModelGrant(grant.pk, remaining, expires_at, promotional, priority))

    # --- rules ----------------------------------------------------------------------------

    @rule(
        index=st.integers(0, WALLETS - 1),
        amount=st.integers(1, 60),
        days=st.none() | st.integers(1, 6),
        promotional=st.booleans(),
        priority=st.sampled_from([10, 50]),
    )
    def grant(self, index, amount, days, promotional, priority):
        wallet = self.wallets[index]
        expires_at = self.now + timedelta(days=days) if days else None
        refused = WalletNotActive if wallet.status == "suspended" else None
        txn = self.expect(
            refused,
            lambda: services.grant(
                wallet=self.db_wallets[index],
                amount=amount,
                source="promotion" if promotional else "purchase",
                expires_at=expires_at,
                priority=priority,
                actor=ACTOR,
                idempotency_key=key(),
            ),
        )
        if txn is not None:
            wallet.balance += amount
            self.add_grants_from(wallet, txn, [(wallet, amount, expires_at, promotional, priority)])

    def debit(self, index: int, amount: int, *, kind: str):
        wallet = self.wallets[index]
        allowed = ("active",) if kind == "spend" else ("active", "frozen")
        if wallet.status not in allowed:
            refused = WalletNotActive
        else:
            self.expire_due(wallet)
            refused = InsufficientCredits if amount > wallet.available else None
        arguments = {"wallet": self.db_wallets[index], "amount": amount, "actor": ACTOR}
        if kind == "spend":
            txn = self.expect(refused, lambda: services.spend(**arguments, idempotency_key=key()))
        else:
            txn = self.expect(
                refused,
                lambda: services.adjust(**arguments, reason="model", idempotency_key=key()),
            )
        if txn is not None:
            portions = self.burn(wallet.in_burn_down_order(), amount)
            wallet.balance -= amount
            assert list(txn.allocations.order_by("id").values_list("grant_id", "amount")) == [
                (grant.pk, part) for grant, part in portions
            ]
            self.debits.append(ModelDebit(txn, wallet, amount, portions))

    @rule(index=st.integers(0, WALLETS - 1), amount=st.integers(1, 60))
    def spend(self, index, amount):
        self.debit(index, amount, kind="spend")

    @rule(index=st.integers(0, WALLETS - 1), amount=st.integers(1, 40))
    def adjust(self, index, amount):
        self.debit(index, amount, kind="adjustment")

    @rule(index=st.integers(0, WALLETS - 1), amount=st.integers(1, 50), hours=st.integers(1, 72))
    def hold(self, index, amount, hours):
        wallet = self.wallets[index]
        if wallet.status != "active":
            refused = WalletNotActive
        else:
            self.expire_due(wallet)
            refused = InsufficientCredits if amount > wallet.available else None
        expires_at = self.now + timedelta(hours=hours)
        txn = self.expect(
            refused,
            lambda: services.hold(
                wallet=self.db_wallets[index],
                amount=amount,
                expires_at=expires_at,
                actor=ACTOR,
                idempotency_key=key(),
            ),
        )
        if txn is not None:
            earmarks = self.burn(wallet.in_burn_down_order(), amount)
            wallet.held += amount
            self.holds.append(ModelHold(txn.hold.pk, wallet, amount, expires_at, earmarks))

    def close(self, hold: ModelHold, status: str) -> None:
        rest = take(hold.earmarks, hold.captured, hold.amount - hold.captured)
        hold.wallet.held -= sum(part for _, part in rest)
        self.give_back(hold.wallet, rest)
        hold.status = status

    @precondition(lambda self: self.holds)
    @rule(data=st.data(), amount=st.none() | st.integers(1, 50), final=st.booleans())
    def capture(self, data, amount, final):
        hold = data.draw(st.sampled_from(self.holds))
        wallet = hold.wallet
        uncaptured = hold.amount - hold.captured
        to_capture = uncaptured if amount is None else amount
        if hold.status != "open":
            refused = HoldNotOpen
        elif wallet.status != "active":
            refused = WalletNotActive
        elif to_capture > uncaptured:
            refused = CaptureExceedsHold
        else:
            refused = None
        txn = self.expect(
            refused,
            lambda: services.capture(
                hold=Hold.objects.get(pk=hold.pk),
                amount=amount,
                final=final,
                actor=ACTOR,
                idempotency_key=key(),
            ),
        )
        if txn is not None:
            portions = take(hold.earmarks, hold.captured, to_capture)
            hold.captured += to_capture
            wallet.held -= to_capture
            wallet.balance -= to_capture
            self.debits.append(ModelDebit(txn, wallet, to_capture, portions))
            if final or hold.captured == hold.amount:
                self.close(hold, "captured")

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def release(self, data):
        hold = data.draw(st.sampled_from(self.holds))
        if hold.status != "open":
            refused = HoldNotOpen
        elif hold.wallet.status == "suspended":
            refused = WalletNotActive
        else:
            refused = None
        txn = self.expect(
            refused,
            lambda: services.release(
                hold=Hold.objects.get(pk=hold.pk), actor=ACTOR, idempotency_key=key()
            ),
        )
        if txn is not None:
            self.close(hold, "released")

    @rule()
    def release_expired_holds(self):
        services.release_expired_holds()
        due = [
            hold
            for hold in self.holds
            if hold.status == "open"
            and hold.expires_at <= self.now
            and hold.wallet.status != "suspended"
        ]
        for hold in sorted(due, key=lambda hold: (hold.expires_at, hold.pk)):
            self.close(hold, "expired")

    @precondition(lambda self: self.debits)
    @rule(data=st.data(), amount=st.none() | st.integers(1, 40))
    def refund(self, data, amount):
        debit = data.draw(st.sampled_from(self.debits))
        wallet = debit.wallet
        refundable = debit.amount - debit.refunded
        to_refund = refundable if amount is None else amount
        if wallet.status == "suspended":
            refused = WalletNotActive
        elif refundable == 0 or to_refund > refundable:
            refused = RefundNotAllowed
        else:
            refused = None
        txn = self.expect(
            refused,
            lambda: services.refund(
                transaction=debit.txn, amount=amount, actor=ACTOR, idempotency_key=key()
            ),
        )
        if txn is None:
            return
        new_grants = []
        for grant, part in take(debit.portions, debit.refunded, to_refund):
            if grant.expired(self.now):
                expires_at = self.now + timedelta(days=GRACE_DAYS)
                new_grants.append((wallet, part, expires_at, grant.promotional, grant.priority))
            else:
                grant.remaining += part
        self.add_grants_from(wallet, txn, new_grants)
        debit.refunded += to_refund
        wallet.balance += to_refund

    @rule(
        sender_index=st.integers(0, WALLETS - 1),
        receiver_index=st.integers(0, WALLETS - 1),
        amount=st.integers(1, 40),
    )
    def transfer(self, sender_index, receiver_index, amount):
        sender, receiver = self.wallets[sender_index], self.wallets[receiver_index]
        paid = []
        if sender is receiver:
            refused = InvalidRequest
        elif sender.status != "active":
            refused = WalletNotActive
        elif receiver.status == "suspended":
            refused = TransferNotAllowed
        else:
            self.expire_due(sender)
            paid = [g for g in sender.in_burn_down_order() if not g.promotional]
            transferable = sum(grant.remaining for grant in paid)
            refused = InsufficientCredits if amount > transferable else None
        txn = self.expect(
            refused,
            lambda: services.transfer(
                sender=self.db_wallets[sender_index],
                receiver=self.db_wallets[receiver_index],
                amount=amount,
                actor=ACTOR,
                idempotency_key=key(),
            ),
        )
        if txn is not None:
            portions = self.burn(paid, amount)
            sender.balance -= amount
            receiver.balance += amount
            templates = [(receiver, part, g.expires_at, False, 50) for g, part in portions]
            self.add_grants_from(receiver, txn, templates)

    @rule()
    def expire(self):
        services.expire_due_grants()
        for wallet in self.wallets:
            if wallet.status != "suspended":
                self.expire_due(wallet)

    @rule(index=st.integers(0, WALLETS - 1), status=st.sampled_from(Wallet.Status.values))
    def change_status(self, index, status):
        wallet = self.wallets[index]
        allowed = (wallet.status, status) in TRANSITIONS
        refused = None if allowed else InvalidRequest
        self.expect(
            refused,
            lambda: services.change_status(
                wallet=self.db_wallets[index], status=status, reason="model", actor=ACTOR
            ),
        )
        if allowed:
            wallet.status = status

    @rule(hours=st.integers(1, 48))
    def advance_time(self, hours):
        self._time.shift(timedelta(hours=hours))

    # --- what must hold after every step ----------------------------------------------------

    @invariant()
    def the_database_matches_the_model(self):
        stored = {wallet.pk: wallet for wallet in Wallet.objects.filter(kind="user")}
        for wallet in self.wallets:
            row = stored[wallet.pk]
            assert (row.balance, row.held, row.status) == (
                wallet.balance,
                wallet.held,
                wallet.status,
            ), wallet.pk
        remainders = dict(CreditGrant.objects.values_list("pk", "remaining"))
        for grant in itertools.chain.from_iterable(wallet.grants for wallet in self.wallets):
            assert remainders[grant.pk] == grant.remaining, grant
        statuses = dict(Hold.objects.values_list("pk", "status"))
        for hold in self.holds:
            assert statuses[hold.pk] == hold.status, hold.pk

    @invariant()
    def the_ledger_reconciles(self):
        assert reconcile().problems == []


@pytest.mark.django_db
def test_the_ledger_behaves_like_its_model(settings, ledger_functions):
    settings.CREDITS_DAILY_TRANSFER_LIMIT = None
    settings.CREDITS_REFUND_GRACE_DAYS = GRACE_DAYS
    LedgerMachine.TestCase.settings = hypothesis_settings
    LedgerMachine.TestCase().runTest()


hypothesis_settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
