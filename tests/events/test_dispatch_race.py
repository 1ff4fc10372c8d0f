"""Two dispatchers at once (the worker and events_retry): every event reaches each channel once."""

from collections import Counter
from threading import Lock

import pytest
from django.db import connection

from events.dispatch import dispatch_pending, register_channel, remove_channel
from events.models import Event
from tests.credits.conftest import fund
from tests.factories import UserFactory
from tests.threads import at_once

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks"),
    pytest.mark.django_db(transaction=True),
]


def test_racing_dispatchers_hand_each_event_to_a_channel_once(everyone_listens, monkeypatch):
    wallet = UserFactory().wallet
    monkeypatch.setattr("events.outbox.kick", lambda: None)  # they wait for the dispatchers
    for _ in range(250):
        fund(wallet, 1)
    assert Event.objects.filter(dispatched_at__isnull=True).count() == 250
    seen: Counter = Counter()
    lock = Lock()

    def count(event):
        with lock:
            seen[event.pk] += 1

    register_channel("tests: counter", count)
    try:
        results = at_once(6, lambda i: dispatch_pending())
    finally:
        remove_channel("tests: counter")
    total = Event.objects.count()
    assert sum(results) == total
    assert len(seen) == total
    assert set(seen.values()) == {1}
    assert not Event.objects.filter(dispatched_at__isnull=True).exists()
