"""Attacks on core.api.representation and core.rows: the answers are byte for byte those of
`Serializer(obj).data`, from many threads at once, and rows built by hand are the ORM's."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from accounts.models import ApiToken, User
from accounts.services import authenticate_api_token, create_api_token
from core.api.representation import represent
from credits import selectors, services
from credits.api.serializers import (
    PlacedHoldSerializer,
    TransactionSerializer,
    WalletFiguresSerializer,
    WalletSerializer,
)
from credits.models import CreditGrant
from credits.services.locks import GRANT_ROW, spendable_grants
from tests.credits.conftest import ACTOR, key
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
render = JSONRenderer().render


@pytest.fixture
def results():
    wallet = UserFactory().wallet
    services.grant(
        wallet=wallet,
        amount=100,
        source="purchase",
        actor=ACTOR,
        idempotency_key=key(),
        expires_at=timezone.now() + timedelta(days=3),
        cost_basis=Decimal("1.50"),
        currency="usd",
    )
    spent = services.spend(
        wallet=wallet,
        amount=5,
        actor=ACTOR,
        idempotency_key=key(),
        metadata={"a": "x", "b": None, "c": 3},
    )
    held = services.hold(wallet=wallet, amount=7, actor=ACTOR, idempotency_key=key())
    wallet.refresh_from_db()
    wallet.expiring_soon = selectors.expiring_soon(wallet)
    return wallet, spent, held


def test_byte_identical_to_data(results):
    wallet, spent, held = results
    cases = [
        (WalletSerializer, wallet),
        (WalletFiguresSerializer, spent),
        (WalletFiguresSerializer, held),
        (TransactionSerializer, spent),
        (PlacedHoldSerializer, held.hold),
    ]
    empty = UserFactory().wallet
    empty.expiring_soon = selectors.expiring_soon(empty)  # first_at None
    cases.append((WalletSerializer, empty))
    for serializer, obj in cases:
        assert render(represent(serializer)(obj)) == render(serializer(obj).data), serializer


def test_many_threads_at_once_on_a_fresh_representation(results):
    wallet, spent, _ = results
    expected = render(WalletSerializer(wallet).data), render(WalletFiguresSerializer(spent).data)
    wallets, figures = represent(WalletSerializer), represent(WalletFiguresSerializer)
    barrier, seen = threading.Barrier(16), []

    def work():
        barrier.wait()
        for _ in range(50):
            seen.append((render(wallets(wallet)), render(figures(spent))))

    threads = [threading.Thread(target=work) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(seen) == {expected}


def test_rows_built_by_hand_are_the_orms():
    user = UserFactory()
    services.grant(
        wallet=user.wallet,
        amount=9,
        source="promotion",
        actor=ACTOR,
        idempotency_key=key(),
        expires_at=datetime(2099, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
        cost_basis=Decimal("0.0100"),
        currency="eur",
    )
    (built,) = spendable_grants(user.wallet.pk)
    orm = CreditGrant.objects.get(pk=built.pk)
    for name in GRANT_ROW.attnames:
        assert getattr(built, name) == getattr(orm, name), name
        assert type(getattr(built, name)) is type(getattr(orm, name)), name


def test_a_token_is_refused_at_once_when_revoked_expired_or_its_user_inactive():
    user = UserFactory()
    made = create_api_token(user=user, name="ci")
    token = authenticate_api_token(secret=made.secret)
    orm = ApiToken.objects.select_related("user").get(pk=token.pk)
    for name in ("created_at", "expires_at", "revoked_at", "user_id", "prefix"):
        assert getattr(token, name) == getattr(orm, name)
    for field in User._meta.concrete_fields:
        assert getattr(token.user, field.attname) == getattr(orm.user, field.attname)
    assert token.user.is_active is True
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(Exception, match="expired"):
        authenticate_api_token(secret=made.secret)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=None)
    User.objects.filter(pk=user.pk).update(is_active=False)
    with pytest.raises(Exception, match="inactive"):
        authenticate_api_token(secret=made.secret)
    User.objects.filter(pk=user.pk).update(is_active=True)
    authenticate_api_token(secret=made.secret)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    with pytest.raises(Exception, match="revoked"):
        authenticate_api_token(secret=made.secret)
