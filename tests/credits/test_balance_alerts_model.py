"""Low-balance alerts against a small model: random sequences of grants, spends, holds,
releases, threshold changes and clock moves, and after each step the balance.low and
balance.recovered events the ledger wrote are exactly the ones the model expects.

The model is written from the rules as a person states them, over the available balance
before and after each change (the ledger keeps a state per threshold instead):
- going from ≥ t to < t is a dip; it is announced unless a low for t was announced in the last
  24 hours;
- going from < t to ≥ t ends the dip; that is announced only if the dip was, and unless a
  recovery for t was announced in the last 24 hours.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from credits import services
from credits.errors import InsufficientCredits
from events.models import Event
from events.outbox import Audience, register_audience, remove_audience
from tests.credits.conftest import ACTOR, key
from tests.factories import UserFactory

DAY = timedelta(hours=24)
thresholds = st.lists(st.integers(1, 150), min_size=1, max_size=3, unique=True)


@dataclass
class ModelThreshold:
    value: int
    dip_announced: bool = False
    last_low: datetime | None = None
    last_recovered: datetime | None = None


class AlertsMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._clock = time_machine.travel(datetime(2030, 1, 1, tzinfo=UTC), tick=False)
        self._time = self._clock.start()
        self.wallet = UserFactory().wallet
        self.available = 0
        self.holds = []  # (hold, amount) of open holds
        self.model: list[ModelThreshold] = []
        self.expected: list[tuple[str, int, int]] = []
        self.seen_id = 0

    def teardown(self):
        self._clock.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- the model ----------------------------------------------------------------------

    def moved(self, before: int, after: int) -> None:
        now = timezone.now()
        for threshold in self.model:
            t = threshold.value
            if before >= t > after:
                quiet = threshold.last_low is not None and now - threshold.last_low < DAY
                threshold.dip_announced = not quiet
                if not quiet:
                    threshold.last_low = now
                    self.expected.append(("balance.low", t, after))
            elif before < t <= after:
                quiet = (
                    threshold.last_recovered is not None and now - threshold.last_recovered < DAY
                )
                if threshold.dip_announced and not quiet:
                    threshold.last_recovered = now
                    self.expected.append(("balance.recovered", t, after))
                threshold.dip_announced = False

    # --- the steps ------------------------------------------------------------------------

    @initialize(funding=st.integers(0, 200), values=thresholds)
    def start(self, funding, values):
        if funding:
            self.grant(funding)
        services.set_thresholds(wallet=self.wallet, thresholds=values, actor=ACTOR)
        self.model = [ModelThreshold(value) for value in values]

    @rule(amount=st.integers(1, 80))
    def grant(self, amount):
        services.grant(
            wallet=self.wallet, amount=amount, source="purchase", actor=ACTOR, idempotency_key=key()
        )
        self.moved(self.available, self.available + amount)
        self.available += amount

    @rule(amount=st.integers(1, 80))
    def spend(self, amount):
        if amount > self.available:
            with pytest.raises(InsufficientCredits):
                services.spend(
                    wallet=self.wallet, amount=amount, actor=ACTOR, idempotency_key=key()
                )
            return
        services.spend(wallet=self.wallet, amount=amount, actor=ACTOR, idempotency_key=key())
        self.moved(self.available, self.available - amount)
        self.available -= amount

    @rule(amount=st.integers(1, 80))
    def hold(self, amount):
        if amount > self.available:
            with pytest.raises(InsufficientCredits):
                services.hold(wallet=self.wallet, amount=amount, actor=ACTOR, idempotency_key=key())
            return
        txn = services.hold(wallet=self.wallet, amount=amount, actor=ACTOR, idempotency_key=key())
        self.holds.append((txn.hold, amount))
        self.moved(self.available, self.available - amount)
        self.available -= amount

    @precondition(lambda self: self.holds)
    @rule(data=st.data())
    def release(self, data):
        hold, amount = self.holds.pop(data.draw(st.integers(0, len(self.holds) - 1)))
        services.release(hold=hold, actor=ACTOR, idempotency_key=key())
        self.moved(self.available, self.available + amount)
        self.available += amount

    # Crossings on purpose, so most sequences have some: just below a threshold, and back.
    @precondition(lambda self: self.model)
    @rule(data=st.data(), under=st.integers(1, 3))
    def dip_below(self, data, under):
        threshold = data.draw(st.sampled_from([t.value for t in self.model]))
        target = max(threshold - under, 0)
        if target < self.available:
            self.spend(self.available - target)

    @precondition(lambda self: self.model)
    @rule(data=st.data(), over=st.integers(0, 2))
    def climb_to(self, data, over):
        threshold = data.draw(st.sampled_from([t.value for t in self.model]))
        if self.available < threshold + over:
            self.grant(threshold + over - self.available)

    # Around the quiet day's edges, where the rules are easiest to get wrong.
    @rule(hours=st.sampled_from([6, 12, 23, 24, 25]))
    def wait(self, hours):
        self._time.shift(timedelta(hours=hours))

    @rule(values=thresholds)
    def change_thresholds(self, values):
        services.set_thresholds(wallet=self.wallet, thresholds=values, actor=ACTOR)
        kept = {threshold.value: threshold for threshold in self.model}
        # A kept threshold keeps its history; a new one starts with none, announcing nothing.
        self.model = [kept.get(value) or ModelThreshold(value) for value in values]

    @invariant()
    def the_ledger_announced_what_the_model_expects(self):
        events = Event.objects.filter(
            type__in=["balance.low", "balance.recovered"], id__gt=self.seen_id
        ).order_by("id")
        got = [(e.type, e.data["threshold"], e.data["available"]) for e in events]
        if events:
            self.seen_id = events.last().id
        assert sorted(got) == sorted(self.expected)
        self.expected = []


@pytest.mark.django_db
def test_alerts_follow_the_rules_for_any_sequence():
    register_audience(Audience("tests: alerts model", "1 = 1"))
    try:
        AlertsMachine.TestCase.settings = settings(
            max_examples=100,
            stateful_step_count=40,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        )
        AlertsMachine.TestCase().runTest()
    finally:
        remove_audience("tests: alerts model")
