import pytest

from tests.factories import UserFactory


@pytest.fixture
def wallet(db):
    return UserFactory().wallet


@pytest.fixture
def other_wallet(db):
    return UserFactory().wallet
