import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from credits import services
from credits.actors import Actor
from credits.models import CreditGrant, Wallet
from tests.factories import UserFactory

ACTOR = Actor.system("tests")


def key() -> str:
    return uuid.uuid4().hex


def fund(wallet: Wallet, amount: int, *, days: int | None = None, **options) -> CreditGrant:
    """Grant `amount` credits (paid purchase unless told otherwise), expiring in `days`."""
    options.setdefault("source", CreditGrant.Source.PURCHASE)
    if days is not None:
        options["expires_at"] = timezone.now() + timedelta(days=days)
    txn = services.grant(
        wallet=wallet, amount=amount, actor=ACTOR, idempotency_key=key(), **options
    )
    return txn.created_grants.get()


def state(wallet: Wallet) -> tuple[int, int, int]:
    """(balance, held, available) as stored now."""
    wallet.refresh_from_db()
    return wallet.balance, wallet.held, wallet.available


def remaining(grant: CreditGrant) -> int:
    grant.refresh_from_db()
    return grant.remaining


@pytest.fixture
def wallet(db) -> Wallet:
    return UserFactory().wallet


@pytest.fixture
def other_wallet(db) -> Wallet:
    return UserFactory().wallet
