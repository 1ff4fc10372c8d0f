"""The ledger's operations, through `credits.services`: rules, edge cases, errors."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db.models import Sum
from django.utils import timezone

from credits import services
from credits.actors import Actor
from credits.errors import (
    CaptureExceedsHold,
    HoldNotOpen,
    IdempotencyConflict,
    InsufficientCredits,
    InvalidRequest,
    RefundNotAllowed,
    TransferLimitExceeded,
    TransferNotAllowed,
    WalletNotActive,
)
from credits.models import CreditGrant, CreditTransaction, Entry, IdempotencyRecord, Wallet
from credits.reconciliation import reconcile
from tests.credits.conftest import ACTOR, fund, key, remaining, state
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]
Kind = CreditTransaction.Kind


def spend(wallet, amount, **options):
    return services.spend(
        wallet=wallet, amount=amount, actor=ACTOR, idempotency_key=key(), **options
    )


def hold(wallet, amount, **options):
    return services.hold(
        wallet=wallet, amount=amount, actor=ACTOR, idempotency_key=key(), **options
    ).hold


def ledger_rows() -> tuple[int, int, int]:
    return (
        CreditTransaction.objects.count(),
        Entry.objects.count(),
        CreditGrant.objects.count(),
    )


# --- grant -----------------------------------------------------------------------------------


def test_grant_adds_a_block_from_the_sources_system_account(wallet):
    grant = fund(wallet, 500, days=30, cost_basis=Decimal("0.01"), currency="USD")

    assert state(wallet) == (500, 0, 500)
    assert (grant.amount, grant.remaining, grant.is_promotional) == (500, 500, False)
    assert (grant.cost_basis, grant.currency) == (Decimal("0.01"), "usd")
    legs = {(e.wallet.system_code or "wallet", e.amount) for e in grant.transaction.entries.all()}
    assert legs == {("purchases", -500), ("wallet", 500)}


def test_promotion_grants_are_promotional_by_default(wallet):
    assert fund(wallet, 10, source=CreditGrant.Source.PROMOTION).is_promotional


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"amount": 0}, "between 1 and"),
        ({"amount": -5}, "between 1 and"),
        ({"amount": 2.5}, "whole number"),
        ({"amount": True}, "whole number"),
        ({"source": "refund"}, "cannot be granted"),
        ({"expires_at": timezone.now() - timedelta(seconds=1)}, "future"),
        ({"priority": 101}, "priority"),
        ({"cost_basis": Decimal("0.01")}, "currency"),
        ({"cost_basis": 0.01, "currency": "usd"}, "Decimal"),
    ],
)
def test_grant_refuses_bad_input_and_writes_nothing(wallet, options, message):
    before = ledger_rows()
    arguments = {"amount": 100, "source": CreditGrant.Source.PURCHASE, **options}

    with pytest.raises(InvalidRequest, match=message):
        services.grant(wallet=wallet, actor=ACTOR, idempotency_key=key(), **arguments)

    assert ledger_rows() == before
    assert IdempotencyRecord.objects.count() == 0


def test_frozen_wallets_receive_but_suspended_ones_do_not(wallet):
    services.freeze(wallet=wallet, reason="chargeback review", actor=ACTOR)
    fund(wallet, 10)
    services.suspend(wallet=wallet, reason="fraud", actor=ACTOR)

    with pytest.raises(WalletNotActive, match="suspended"):
        fund(wallet, 10)
    assert state(wallet) == (10, 0, 10)


# --- spend and burn-down ---------------------------------------------------------------------


def test_spend_refuses_more_than_available_and_says_how_many_are(wallet):
    fund(wallet, 100)
    hold(wallet, 30)

    with pytest.raises(InsufficientCredits, match="80 asked, 70 available"):
        spend(wallet, 80)
    assert state(wallet) == (100, 30, 70)


def test_spend_burns_down_by_priority_then_expiry_then_promotional_then_age(wallet):
    paid_never = fund(wallet, 10)
    paid_late = fund(wallet, 10, days=20)
    promo_late = fund(wallet, 10, expires_at=paid_late.expires_at, source="promotion")
    paid_soon = fund(wallet, 10, days=5)
    urgent = fund(wallet, 10, priority=10)
    paid_late_younger = fund(wallet, 10, expires_at=paid_late.expires_at)

    expected_order = [urgent, paid_soon, promo_late, paid_late, paid_late_younger, paid_never]
    for step, grant in enumerate(expected_order, start=1):
        txn = spend(wallet, 10)
        assert list(txn.allocations.values_list("grant", "amount")) == [(grant.pk, 10)], step


def test_a_spend_across_grants_records_each_allocation(wallet):
    first = fund(wallet, 30, days=1)
    second = fund(wallet, 50, days=2)

    txn = spend(wallet, 45, description="Logo")

    assert list(txn.allocations.values_list("grant", "amount")) == [(first.pk, 30), (second.pk, 15)]
    assert (remaining(first), remaining(second)) == (0, 35)
    assert txn.entries.get(wallet=wallet).balance_after == 35


@pytest.mark.parametrize("status", ["frozen", "suspended"])
def test_spend_is_refused_unless_the_wallet_is_active(wallet, status):
    fund(wallet, 50)
    services.change_status(wallet=wallet, status=status, reason="review", actor=ACTOR)

    with pytest.raises(WalletNotActive, match=status):
        spend(wallet, 10)
    assert state(wallet) == (50, 0, 50)


def test_credits_past_their_expiry_are_never_spent_even_before_the_command_runs(wallet):
    fund(wallet, 40, days=1)
    lasting = fund(wallet, 5)

    with (
        time_machine.travel(timezone.now() + timedelta(days=2)),
        pytest.raises(InsufficientCredits, match="20 asked, 5 available"),
    ):
        spend(wallet, 20)

    assert state(wallet) == (5, 0, 5)
    expiry = CreditTransaction.objects.get(kind=Kind.EXPIRY)
    assert expiry.amount == 40
    assert remaining(lasting) == 5


# --- idempotency -----------------------------------------------------------------------------


def test_the_same_key_and_request_returns_the_original_and_changes_nothing(wallet):
    fund(wallet, 100)
    first = services.spend(wallet=wallet, amount=10, actor=ACTOR, idempotency_key="k1")
    before = ledger_rows()

    again = services.spend(wallet=wallet, amount=10, actor=ACTOR, idempotency_key="k1")

    assert again == first
    assert ledger_rows() == before
    assert state(wallet) == (90, 0, 90)


def test_the_same_key_with_a_different_request_is_a_conflict(wallet):
    fund(wallet, 100)
    services.spend(wallet=wallet, amount=10, actor=ACTOR, idempotency_key="k1")

    with pytest.raises(IdempotencyConflict, match="k1"):
        services.spend(wallet=wallet, amount=11, actor=ACTOR, idempotency_key="k1")
    with pytest.raises(IdempotencyConflict):
        services.hold(wallet=wallet, amount=10, actor=ACTOR, idempotency_key="k1")
    assert state(wallet) == (90, 0, 90)


def test_a_refused_request_is_refused_the_same_way_when_retried(wallet):
    fund(wallet, 5)
    with pytest.raises(InsufficientCredits, match="5 available"):
        services.spend(wallet=wallet, amount=10, actor=ACTOR, idempotency_key="k1")
    fund(wallet, 100)

    with pytest.raises(InsufficientCredits, match="5 available"):
        services.spend(wallet=wallet, amount=10, actor=ACTOR, idempotency_key="k1")
    assert state(wallet) == (105, 0, 105)


def test_keys_are_scoped_to_their_caller(wallet):
    fund(wallet, 100)
    app_one, app_two = Actor.for_app(1, "one"), Actor.for_app(2, "two")

    first = services.spend(wallet=wallet, amount=10, actor=app_one, idempotency_key="same")
    second = services.spend(wallet=wallet, amount=10, actor=app_two, idempotency_key="same")

    assert first != second
    assert state(wallet) == (80, 0, 80)
    assert (first.actor_kind, first.actor_app_id, first.actor_label) == ("app", 1, "one")


@pytest.mark.parametrize("bad_key", ["", "   ", None, "x" * 256])
def test_an_operation_without_a_usable_key_is_refused(wallet, bad_key):
    fund(wallet, 10)

    with pytest.raises(InvalidRequest, match="idempotency key"):
        services.spend(wallet=wallet, amount=1, actor=ACTOR, idempotency_key=bad_key)


# --- holds -----------------------------------------------------------------------------------


def test_a_hold_reserves_credits_without_spending_them(wallet):
    grant = fund(wallet, 100)

    held = hold(wallet, 60, description="Translation job")

    assert state(wallet) == (100, 60, 40)
    assert held.status == "open"
    assert remaining(grant) == 40
    assert not held.transactions.get().entries.exists()


def test_a_hold_cannot_reserve_more_than_is_available(wallet):
    fund(wallet, 50)

    with pytest.raises(InsufficientCredits, match="60 asked, 50 available"):
        hold(wallet, 60)


def test_a_full_capture_spends_the_reserved_credits(wallet):
    fund(wallet, 100)
    held = hold(wallet, 60)

    txn = services.capture(hold=held, actor=ACTOR, idempotency_key=key())

    held.refresh_from_db()
    assert (txn.kind, txn.amount) == (Kind.CAPTURE, 60)
    assert (held.status, held.captured_amount) == ("captured", 60)
    assert state(wallet) == (40, 0, 40)


def test_a_partial_final_capture_returns_the_rest_to_the_grants_it_came_from(wallet):
    soon = fund(wallet, 30, days=1)
    later = fund(wallet, 50, days=2)
    held = hold(wallet, 60)
    assert (remaining(soon), remaining(later)) == (0, 20)

    services.capture(hold=held, amount=40, actor=ACTOR, idempotency_key=key())

    held.refresh_from_db()
    assert (held.status, held.captured_amount) == ("captured", 40)
    assert state(wallet) == (40, 0, 40)
    # The first 40 reserved (30 from soon, 10 from later) were spent; 20 went back to later.
    assert (remaining(soon), remaining(later)) == (0, 40)


def test_captures_in_parts_keep_the_hold_open_until_it_is_used_up(wallet):
    fund(wallet, 100)
    held = hold(wallet, 60)

    services.capture(hold=held, amount=20, final=False, actor=ACTOR, idempotency_key=key())
    held.refresh_from_db()
    assert (held.status, held.captured_amount, state(wallet)) == ("open", 20, (80, 40, 40))

    services.capture(hold=held, amount=40, final=False, actor=ACTOR, idempotency_key=key())
    held.refresh_from_db()
    assert (held.status, held.captured_amount, state(wallet)) == ("captured", 60, (40, 0, 40))


def test_capturing_more_than_the_hold_has_left_is_refused(wallet):
    fund(wallet, 100)
    held = hold(wallet, 60)
    services.capture(hold=held, amount=50, final=False, actor=ACTOR, idempotency_key=key())

    with pytest.raises(CaptureExceedsHold, match="10 credits left"):
        services.capture(hold=held, amount=11, actor=ACTOR, idempotency_key=key())
    assert state(wallet) == (50, 10, 40)


def test_a_release_gives_everything_back_and_closes_the_hold(wallet):
    grant = fund(wallet, 100)
    held = hold(wallet, 60)

    services.release(hold=held, actor=ACTOR, idempotency_key=key())

    held.refresh_from_db()
    assert held.status == "released"
    assert state(wallet) == (100, 0, 100)
    assert remaining(grant) == 100
    with pytest.raises(HoldNotOpen, match="released"):
        services.release(hold=held, actor=ACTOR, idempotency_key=key())
    with pytest.raises(HoldNotOpen):
        services.capture(hold=held, actor=ACTOR, idempotency_key=key())


def test_held_credits_do_not_expire_and_expire_once_released_after_their_date(wallet):
    grant = fund(wallet, 100, days=1)
    held = hold(wallet, 70)

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        run = services.expire_due_grants()
        assert (run.grants, run.credits) == (1, 30)
        assert state(wallet) == (70, 70, 0)

        services.release(hold=held, actor=ACTOR, idempotency_key=key())

    assert state(wallet) == (0, 0, 0)
    grant.refresh_from_db()
    assert (grant.remaining, grant.expired_amount) == (0, 100)


def test_frozen_wallets_may_release_but_not_capture(wallet):
    fund(wallet, 100)
    first, second = hold(wallet, 10), hold(wallet, 20)
    services.freeze(wallet=wallet, reason="review", actor=ACTOR)

    with pytest.raises(WalletNotActive):
        services.capture(hold=first, actor=ACTOR, idempotency_key=key())
    services.release(hold=second, actor=ACTOR, idempotency_key=key())

    assert state(wallet) == (100, 10, 90)


def test_expired_holds_are_released_by_the_sweep_once(wallet):
    fund(wallet, 100)
    due = hold(wallet, 30, expires_at=timezone.now() + timedelta(hours=1))
    lasting = hold(wallet, 20, expires_at=timezone.now() + timedelta(days=3))

    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        first = services.release_expired_holds()
        second = services.release_expired_holds()

    due.refresh_from_db()
    lasting.refresh_from_db()
    assert [txn.amount for txn in first] == [30]
    assert second == []
    assert (due.status, lasting.status) == ("expired", "open")
    assert state(wallet) == (100, 20, 80)


# --- refunds ---------------------------------------------------------------------------------


def test_a_full_refund_restores_the_balance_and_the_grants(wallet):
    grant = fund(wallet, 100)
    spent = spend(wallet, 40)

    txn = services.refund(transaction=spent, actor=ACTOR, idempotency_key=key())

    assert (txn.kind, txn.amount, txn.reverses) == (Kind.REFUND, 40, spent)
    assert state(wallet) == (100, 0, 100)
    assert remaining(grant) == 100
    assert services.refunded_amount(spent) == 40


def test_partial_refunds_unwind_the_recorded_allocations_in_order(wallet):
    first = fund(wallet, 30, days=1)
    second = fund(wallet, 30, days=2)
    spent = spend(wallet, 50)  # 30 from first, 20 from second
    fund(wallet, 10, priority=0)  # today's order would now differ; refunds must not care

    services.refund(transaction=spent, amount=35, actor=ACTOR, idempotency_key=key())
    assert (remaining(first), remaining(second)) == (30, 15)

    services.refund(transaction=spent, amount=15, actor=ACTOR, idempotency_key=key())
    assert (remaining(first), remaining(second)) == (30, 30)


def test_a_refund_never_exceeds_what_is_left_to_refund(wallet):
    fund(wallet, 100)
    spent = spend(wallet, 40)
    services.refund(transaction=spent, amount=30, actor=ACTOR, idempotency_key=key())

    with pytest.raises(RefundNotAllowed, match="Only 10 of this transaction's 40"):
        services.refund(transaction=spent, amount=11, actor=ACTOR, idempotency_key=key())
    services.refund(transaction=spent, actor=ACTOR, idempotency_key=key())
    with pytest.raises(RefundNotAllowed, match="already been refunded in full"):
        services.refund(transaction=spent, actor=ACTOR, idempotency_key=key())
    assert state(wallet) == (100, 0, 100)


def test_refunded_credits_of_an_expired_grant_go_to_a_new_grant_with_a_grace_period(
    wallet, settings
):
    settings.CREDITS_REFUND_GRACE_DAYS = 10
    old = fund(wallet, 50, days=1, source=CreditGrant.Source.PROMOTION)
    spent = spend(wallet, 20)

    later = timezone.now() + timedelta(days=3)
    with time_machine.travel(later, tick=False):
        services.expire_due_grants()
        txn = services.refund(transaction=spent, actor=ACTOR, idempotency_key=key())

    new = txn.created_grants.get()
    assert (new.source, new.amount, new.remaining, new.is_promotional) == ("refund", 20, 20, True)
    assert new.expires_at == later + timedelta(days=10)
    assert remaining(old) == 0
    assert state(wallet) == (20, 0, 20)


def test_captures_adjustments_and_expiries_can_be_refunded(wallet):
    fund(wallet, 100, days=1)
    captured = services.capture(hold=hold(wallet, 20), actor=ACTOR, idempotency_key=key())
    adjusted = services.adjust(
        wallet=wallet, amount=10, reason="duplicate grant", actor=ACTOR, idempotency_key=key()
    )
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        services.expire_due_grants()
    expired = CreditTransaction.objects.get(kind=Kind.EXPIRY)

    for original in (captured, adjusted, expired):
        services.refund(transaction=original, actor=ACTOR, idempotency_key=key())

    assert state(wallet) == (100, 0, 100)


@pytest.mark.parametrize("kind", ["grant", "transfer", "hold"])
def test_only_debits_can_be_refunded(wallet, other_wallet, kind):
    grant = fund(wallet, 100)
    originals = {
        "grant": lambda: grant.transaction,
        "transfer": lambda: services.transfer(
            sender=wallet, receiver=other_wallet, amount=5, actor=ACTOR, idempotency_key=key()
        ),
        "hold": lambda: hold(wallet, 5).transactions.get(),
    }

    with pytest.raises(RefundNotAllowed, match="cannot be refunded"):
        services.refund(transaction=originals[kind](), actor=ACTOR, idempotency_key=key())


# --- adjustments -----------------------------------------------------------------------------


def test_staff_deductions_need_a_reason_and_work_on_frozen_wallets(wallet):
    fund(wallet, 100)
    services.freeze(wallet=wallet, reason="review", actor=ACTOR)

    with pytest.raises(InvalidRequest, match="reason"):
        services.adjust(wallet=wallet, amount=10, reason=" ", actor=ACTOR, idempotency_key=key())
    txn = services.adjust(
        wallet=wallet, amount=10, reason="goodwill reversal", actor=ACTOR, idempotency_key=key()
    )

    assert (txn.kind, txn.description) == (Kind.ADJUSTMENT, "goodwill reversal")
    assert state(wallet) == (90, 0, 90)
    with pytest.raises(InsufficientCredits):
        services.adjust(wallet=wallet, amount=91, reason="x", actor=ACTOR, idempotency_key=key())


# --- transfers -------------------------------------------------------------------------------


def transfer(sender, receiver, amount):
    return services.transfer(
        sender=sender, receiver=receiver, amount=amount, actor=ACTOR, idempotency_key=key()
    )


def test_a_transfer_moves_paid_credits_keeping_their_expiry_and_cost(wallet, other_wallet):
    paid = fund(wallet, 50, days=9, cost_basis=Decimal("0.02"), currency="usd")
    fund(wallet, 100, source=CreditGrant.Source.PROMOTION, priority=0)

    txn = transfer(wallet, other_wallet, 30)

    received = txn.created_grants.get()
    assert (received.wallet, received.source, received.amount) == (other_wallet, "transfer", 30)
    assert (received.expires_at, received.cost_basis) == (paid.expires_at, Decimal("0.02"))
    assert not received.is_promotional
    assert state(wallet) == (120, 0, 120)
    assert state(other_wallet) == (30, 0, 30)
    assert remaining(paid) == 20


def test_a_transfer_passes_through_the_transfers_account_which_it_leaves_at_zero(
    wallet, other_wallet
):
    fund(wallet, 50)

    txn = transfer(wallet, other_wallet, 30)

    legs = list(txn.entries.order_by("id").values_list("wallet__system_code", "amount"))
    assert legs == [(None, -30), ("transfers", 30), ("transfers", -30), (None, 30)]
    clearing = Wallet.objects.get(system_code="transfers")
    assert Entry.objects.filter(wallet=clearing).aggregate(total=Sum("amount"))["total"] == 0
    assert reconcile().clean


def test_promotional_credits_cannot_be_transferred(wallet, other_wallet):
    fund(wallet, 10)
    fund(wallet, 100, source=CreditGrant.Source.PROMOTION)

    with pytest.raises(InsufficientCredits, match="10 can be transferred"):
        transfer(wallet, other_wallet, 11)


def test_transfers_respect_the_daily_limit(wallet, other_wallet, settings):
    settings.CREDITS_DAILY_TRANSFER_LIMIT = 100
    fund(wallet, 500)
    transfer(wallet, other_wallet, 60)
    assert services.transfer_allowance(wallet=wallet) == 40

    with pytest.raises(TransferLimitExceeded, match="40 credits left today"):
        transfer(wallet, other_wallet, 41)
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        transfer(wallet, other_wallet, 100)

    assert state(other_wallet)[0] == 160


def test_transfer_status_rules(wallet, other_wallet):
    fund(wallet, 100)
    with pytest.raises(InvalidRequest, match="same wallet"):
        transfer(wallet, wallet, 10)

    services.freeze(wallet=other_wallet, reason="review", actor=ACTOR)
    transfer(wallet, other_wallet, 10)  # frozen wallets may receive

    services.suspend(wallet=other_wallet, reason="fraud", actor=ACTOR)
    with pytest.raises(TransferNotAllowed, match="suspended"):
        transfer(wallet, other_wallet, 10)

    services.freeze(wallet=wallet, reason="review", actor=ACTOR)
    with pytest.raises(WalletNotActive):
        transfer(wallet, UserFactory().wallet, 10)


# --- expiry ----------------------------------------------------------------------------------


def test_expiry_posts_an_explicit_transaction_and_is_safe_to_run_twice(wallet):
    grant = fund(wallet, 80, days=1)
    spend(wallet, 30)

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert [g.pk for g in services.due_grants()] == [grant.pk]
        first = services.expire_due_grants()
        second = services.expire_due_grants()

    assert (first.grants, first.credits, second.grants) == (1, 50, 0)
    expiry = CreditTransaction.objects.get(kind=Kind.EXPIRY)
    legs = {(e.wallet.system_code or "wallet", e.amount) for e in expiry.entries.all()}
    assert legs == {("wallet", -50), ("expired", 50)}
    assert state(wallet) == (0, 0, 0)


def test_suspended_wallets_are_not_expired(wallet):
    fund(wallet, 10, days=1)
    services.suspend(wallet=wallet, reason="fraud", actor=ACTOR)

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        assert services.expire_due_grants().grants == 0

    assert state(wallet) == (10, 0, 10)


# --- status ----------------------------------------------------------------------------------


def test_status_changes_record_who_and_why_and_show_on_the_user(wallet):
    staff = UserFactory(is_staff=True)

    services.freeze(wallet=wallet, reason="chargeback", actor=Actor.for_staff(staff))
    services.unfreeze(wallet=wallet, reason="resolved", actor=Actor.for_staff(staff))
    services.suspend(wallet=wallet, reason="fraud ring", actor=Actor.for_staff(staff))

    history = list(wallet.status_changes.order_by("id").values_list("to_status", "reason"))
    assert history == [
        ("frozen", "chargeback"),
        ("active", "resolved"),
        ("suspended", "fraud ring"),
    ]
    assert wallet.status_changes.first().actor_user == staff
    assert wallet.user.credit_status == "suspended"


def test_status_changes_need_a_reason_and_a_change(wallet):
    with pytest.raises(InvalidRequest, match="reason"):
        services.freeze(wallet=wallet, reason="", actor=ACTOR)
    with pytest.raises(InvalidRequest, match="already active"):
        services.unfreeze(wallet=wallet, reason="no-op", actor=ACTOR)


def test_every_new_user_has_an_active_wallet(db):
    user = UserFactory()

    assert Wallet.objects.get(user=user).status == "active"
    assert user.credit_status == "active"


# --- revoke ----------------------------------------------------------------------------------


def test_revoke_takes_back_at_most_what_the_grant_still_holds(wallet):
    grant = fund(wallet, 100)
    spend(wallet, 70)

    txn = services.revoke(
        grant=grant, amount=50, reason="refunded by Stripe", actor=ACTOR, idempotency_key=key()
    )
    nothing = services.revoke(
        grant=grant, amount=50, reason="again", actor=ACTOR, idempotency_key=key()
    )

    assert (txn.kind, txn.amount, nothing) == (Kind.REVOCATION, 30, None)
    assert state(wallet) == (0, 0, 0)
    purchases = Entry.objects.filter(transaction=txn, wallet__system_code="purchases")
    assert purchases.aggregate(total=Sum("amount"))["total"] == 30


def test_credits_staff_granted_cannot_be_transferred(wallet, other_wallet):
    """A staff member's grant to an account they control must not reach their own wallet."""
    fund(wallet, 10)
    fund(wallet, 1000, source=CreditGrant.Source.ADMIN, is_promotional=False)

    with pytest.raises(InsufficientCredits, match="credits granted by staff cannot be"):
        transfer(wallet, other_wallet, 11)
    transfer(wallet, other_wallet, 10)

    assert state(other_wallet)[0] == 10
