"""The database itself refuses what would break the ledger, whatever code tries."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from credits import services
from credits.models import Allocation, CreditGrant, CreditTransaction, Entry, Wallet
from tests.credits.conftest import ACTOR, fund, key

pytestmark = pytest.mark.django_db


def run_sql(sql: str, params: list) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.fixture
def spent(wallet):
    fund(wallet, 100)
    return services.spend(wallet=wallet, amount=10, actor=ACTOR, idempotency_key=key())


@pytest.mark.parametrize("model", [Entry, CreditTransaction, Allocation])
def test_ledger_rows_cannot_be_updated(spent, model):
    table = model._meta.db_table
    column = "amount"

    with pytest.raises(DatabaseError, match="append-only"):
        run_sql(f"UPDATE {table} SET {column} = {column} + 1", [])

    assert Entry.objects.filter(transaction=spent, amount=-10).exists()


@pytest.mark.parametrize("model", [Entry, CreditTransaction, Allocation])
def test_ledger_rows_cannot_be_deleted(spent, model):
    before = model.objects.count()

    with pytest.raises(DatabaseError, match="append-only"):
        run_sql(f"DELETE FROM {model._meta.db_table}", [])

    assert model.objects.count() == before


def test_a_wallet_cannot_hold_more_than_its_balance(wallet):
    fund(wallet, 100)

    with pytest.raises(IntegrityError):
        run_sql(f"UPDATE {Wallet._meta.db_table} SET held = 101 WHERE id = %s", [wallet.pk])
    with pytest.raises(IntegrityError):
        run_sql(f"UPDATE {Wallet._meta.db_table} SET held = -1 WHERE id = %s", [wallet.pk])

    wallet.refresh_from_db()
    assert wallet.held == 0


@pytest.mark.parametrize("remaining", [-1, 101])
def test_a_grant_remainder_stays_within_its_amount(wallet, remaining):
    grant = fund(wallet, 100)

    with pytest.raises(IntegrityError):
        run_sql(
            f"UPDATE {CreditGrant._meta.db_table} SET remaining = %s WHERE id = %s",
            [remaining, grant.pk],
        )

    grant.refresh_from_db()
    assert grant.remaining == 100


def test_an_idempotency_key_is_unique_per_caller(wallet, spent):
    record = spent.idempotency_record

    with pytest.raises(IntegrityError), transaction.atomic():
        type(record).objects.create(
            scope=record.scope, key=record.key, operation="spend", fingerprint="x"
        )


def test_wallets_with_history_and_system_accounts_cannot_be_deleted(wallet):
    fund(wallet, 1)
    system = Wallet.objects.filter(kind=Wallet.Kind.SYSTEM).first()

    for target in (wallet, system):
        with pytest.raises(DatabaseError, match="cannot be deleted"), transaction.atomic():
            run_sql(f"DELETE FROM {Wallet._meta.db_table} WHERE id = %s", [target.pk])

    assert Wallet.objects.filter(pk__in=[wallet.pk, system.pk]).count() == 2


def test_an_empty_user_wallet_may_be_deleted(wallet):
    run_sql(f"DELETE FROM {Wallet._meta.db_table} WHERE id = %s", [wallet.pk])

    assert not Wallet.objects.filter(pk=wallet.pk).exists()
