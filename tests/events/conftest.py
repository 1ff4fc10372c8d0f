import pytest

from events.outbox import Audience, register_audience, remove_audience
from tests.factories import UserFactory


@pytest.fixture
def everyone_listens():
    """An audience that wants every event: the outbox writes all it is told."""
    register_audience(Audience("tests: everyone", "1 = 1"))
    yield
    remove_audience("tests: everyone")


@pytest.fixture
def wallet(db):
    return UserFactory().wallet


@pytest.fixture
def other_wallet(db):
    return UserFactory().wallet
