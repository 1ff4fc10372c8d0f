"""wallet.status_changed: announced with the change, in its transaction."""

import pytest

from credits import services
from credits.errors import InvalidRequest
from events.models import Event
from tests.credits.conftest import ACTOR

pytestmark = pytest.mark.django_db


def test_a_status_change_is_announced_with_who_it_was_and_why(wallet, everyone_listens):
    change = services.freeze(wallet=wallet, reason="Card testing suspected", actor=ACTOR)
    services.suspend(wallet=wallet, reason="Confirmed", actor=ACTOR)
    events = list(Event.objects.filter(type="wallet.status_changed").order_by("id"))
    assert [(e.data["previous_status"], e.data["status"]) for e in events] == [
        ("active", "frozen"),
        ("frozen", "suspended"),
    ]
    assert events[0].user_id == wallet.user_id
    assert set(events[0].data) == {"user_id", "status", "previous_status", "reason", "changed_at"}
    assert events[0].data["user_id"] == wallet.user_id
    assert events[0].data["reason"] == "Card testing suspected"
    assert events[0].occurred_at == change.created_at


def test_a_refused_status_change_announces_nothing(wallet, everyone_listens):
    with pytest.raises(InvalidRequest):
        services.unfreeze(wallet=wallet, reason="Not frozen", actor=ACTOR)
    assert not Event.objects.filter(type="wallet.status_changed").exists()
