"""A stateful property test of the job flow: random sequences of every step (deliver, accept in
full or in part, ask for changes, dispute and settle, cancel a milestone or the job, staff
overrides, the clock run with time moved) over a job of one to four milestones.

A small model, written apart from the services, says which steps are allowed and where each
milestone stands; after every step the database must agree with it, the ledger reconcile, the
client's balance plus what was paid equal what was funded, the wallet hold exactly the amounts
of the milestones not yet decided, and no milestone's hold be settled twice.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from credits.models import CreditTransaction
from credits.reconciliation import reconcile
from jobs import services as jobs
from jobs.errors import JobError
from jobs.models import Job, Milestone
from tests.factories import StaffFactory, UserFactory
from tests.jobs.conftest import milestones, open_job

Status = Milestone.Status
TO_DELIVER = {Status.FUNDED, Status.CHANGES_REQUESTED}
FINAL = {Status.ACCEPTED, Status.ACCEPTED_IN_PART, Status.CANCELLED}
PAID = {Status.ACCEPTED, Status.ACCEPTED_IN_PART}
LINK = [("Preview", "https://example.com/preview")]


@dataclass
class ModelMilestone:
    pk: int
    amount: int
    due_date: date
    status: str = Status.FUNDED
    paid: int = 0
    review_ends_at: datetime | None = None
    changes_requested_at: datetime | None = None
    revisions: int = 0

    def delivery_deadline(self) -> datetime:
        start = datetime.combine(self.due_date, time.max, tzinfo=UTC)
        if self.changes_requested_at and self.changes_requested_at > start:
            start = self.changes_requested_at
        return start + timedelta(days=django_settings.JOBS_DELIVERY_GRACE_DAYS)


milestone_index = st.integers(min_value=0, max_value=3)


class JobMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._clock = time_machine.travel(datetime(2030, 1, 1, tzinfo=UTC), tick=False)
        self._time = self._clock.start()
        self.client = UserFactory()
        self.staff = StaffFactory(is_superuser=False, permissions=["jobs.deliver"])

    def teardown(self):
        self._clock.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    @initialize(amounts=st.lists(st.integers(min_value=1, max_value=900), min_size=1, max_size=4))
    def submit_a_job(self, amounts):
        self.job = open_job(self.client, *amounts)
        self.funded = sum(amounts)
        self.model = [ModelMilestone(m.pk, m.amount, m.due_date) for m in milestones(self.job)]
        self.job_closed = False

    # --- the model's rules ----------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return timezone.now()

    def pick(self, index: int) -> tuple[Milestone, ModelMilestone]:
        modelled = self.model[index % len(self.model)]
        return Milestone.objects.get(pk=modelled.pk), modelled

    def attempt(self, allowed: bool, step) -> bool:
        """Run the step; it must be refused (a JobError, nothing changed) exactly when the model
        says it is not allowed."""
        try:
            step()
        except JobError as error:
            refusal = error.message
        else:
            refusal = None
        assert (refusal is None) == allowed, refusal or "done, but the model refuses it"
        return refusal is None

    def decide(self, modelled: ModelMilestone, *, paid: int) -> None:
        modelled.paid = paid
        if paid == modelled.amount:
            modelled.status = Status.ACCEPTED
        else:
            modelled.status = Status.ACCEPTED_IN_PART if paid else Status.CANCELLED
        modelled.review_ends_at = None
        self.close_if_done()

    def close_if_done(self) -> None:
        if all(m.status in FINAL for m in self.model):
            self.job_closed = True

    # --- the steps ------------------------------------------------------------------------

    @rule(index=milestone_index)
    def deliver(self, index):
        milestone, modelled = self.pick(index)
        allowed = modelled.status in TO_DELIVER
        step = lambda: jobs.deliver(milestone=milestone, by=self.staff, message="v", links=LINK)  # noqa: E731
        if self.attempt(allowed, step):
            modelled.status = Status.SUBMITTED
            modelled.review_ends_at = self.now + timedelta(days=django_settings.JOBS_REVIEW_DAYS)

    @rule(index=milestone_index)
    def accept(self, index):
        milestone, modelled = self.pick(index)
        allowed = modelled.status == Status.SUBMITTED
        if self.attempt(allowed, lambda: jobs.accept(milestone=milestone, by=self.client)):
            self.decide(modelled, paid=modelled.amount)

    @rule(index=milestone_index, share=st.integers(min_value=0, max_value=10**6))
    def accept_in_part(self, index, share):
        milestone, modelled = self.pick(index)
        pay = share % (modelled.amount + 1)
        allowed = modelled.status == Status.SUBMITTED and 0 < pay < modelled.amount
        step = lambda: jobs.accept_in_part(  # noqa: E731
            milestone=milestone, by=self.client, amount=pay, reason="Part of it"
        )
        if self.attempt(allowed, step):
            self.decide(modelled, paid=pay)

    @rule(index=milestone_index)
    def request_changes(self, index):
        milestone, modelled = self.pick(index)
        allowed = (
            modelled.status == Status.SUBMITTED
            and modelled.revisions < django_settings.JOBS_MAX_REVISIONS
        )
        step = lambda: jobs.request_changes(milestone=milestone, by=self.client, reason="More")  # noqa: E731
        if self.attempt(allowed, step):
            modelled.status = Status.CHANGES_REQUESTED
            modelled.review_ends_at = None
            modelled.changes_requested_at = self.now
            modelled.revisions += 1

    @rule(index=milestone_index, pay_share=st.integers(min_value=0, max_value=10**6))
    def dispute_then_settle(self, index, pay_share):
        milestone, modelled = self.pick(index)
        allowed = modelled.status == Status.SUBMITTED
        step = lambda: jobs.mark_disputed(milestone=milestone, by=self.client, reason="No")  # noqa: E731
        if not self.attempt(allowed, step):
            return
        modelled.status, modelled.review_ends_at = Status.DISPUTED, None
        pay = pay_share % (modelled.amount + 1)
        jobs.settle_dispute(milestone=milestone, staff=self.staff, pay=pay, note="Settled")
        self.decide(modelled, paid=pay)

    @rule(index=milestone_index)
    def dispute(self, index):
        milestone, modelled = self.pick(index)
        allowed = modelled.status == Status.SUBMITTED
        step = lambda: jobs.mark_disputed(milestone=milestone, by=self.client, reason="No")  # noqa: E731
        if self.attempt(allowed, step):
            modelled.status, modelled.review_ends_at = Status.DISPUTED, None

    @rule(index=milestone_index)
    def cancel_milestone(self, index):
        milestone, modelled = self.pick(index)
        allowed = modelled.status in TO_DELIVER
        if self.attempt(
            allowed, lambda: jobs.cancel_milestone(milestone=milestone, by=self.client)
        ):
            self.decide(modelled, paid=0)

    @rule(by_staff=st.booleans())
    def cancel_job(self, by_staff):
        blocking = {Status.DISPUTED} if by_staff else {Status.DISPUTED, Status.SUBMITTED}
        allowed = not self.job_closed and not any(m.status in blocking for m in self.model)
        by = self.staff if by_staff else self.client
        step = lambda: jobs.cancel_job(job=self.job, by=by, reason="Stop")  # noqa: E731
        if self.attempt(allowed, step):
            for modelled in self.model:
                if modelled.status not in FINAL:
                    modelled.status, modelled.review_ends_at = Status.CANCELLED, None
            self.job_closed = True

    @rule(index=milestone_index, accept=st.booleans())
    def force(self, index, accept):
        milestone, modelled = self.pick(index)
        allowed = modelled.status not in FINAL and modelled.status != Status.DISPUTED
        override = jobs.force_accept if accept else jobs.force_release
        step = lambda: override(milestone=milestone, staff=self.staff, reason="Staff call")  # noqa: E731
        if self.attempt(allowed, step):
            self.decide(modelled, paid=modelled.amount if accept else 0)

    # Mostly short moves (a day or two), so other steps happen between the clock's outcomes.
    @rule(hours=st.one_of(st.integers(min_value=1, max_value=48), st.integers(1, 24 * 40)))
    def clock_runs(self, hours):
        self._time.shift(timedelta(hours=hours))
        report = jobs.run_clock()
        now = self.now
        for modelled in self.model:
            if modelled.status == Status.SUBMITTED and modelled.review_ends_at <= now:
                self.decide(modelled, paid=modelled.amount)
            elif modelled.status in TO_DELIVER and modelled.delivery_deadline() <= now:
                self.decide(modelled, paid=0)
        assert report.skipped == {}

    # --- what must hold after every step ----------------------------------------------------

    @invariant()
    def the_database_agrees_with_the_model(self):
        stored = dict(Milestone.objects.filter(job=self.job).values_list("pk", "status"))
        assert stored == {m.pk: m.status for m in self.model}
        job = Job.objects.get(pk=self.job.pk)
        if self.job_closed:
            paid = any(m.status in PAID for m in self.model)
            assert job.status == (Job.Status.COMPLETED if paid else Job.Status.CANCELLED)
        else:
            assert job.is_live

    @invariant()
    def credits_add_up(self):
        wallet = self.client.wallet
        wallet.refresh_from_db()
        holds = [m.hold_id for m in Milestone.objects.filter(job=self.job)]
        captured = CreditTransaction.objects.filter(kind="capture", hold__in=holds)
        assert wallet.balance + sum(t.amount for t in captured) == self.funded
        assert sum(t.amount for t in captured) == sum(m.paid for m in self.model)
        assert wallet.held == sum(m.amount for m in self.model if m.status not in FINAL)

    @invariant()
    def no_milestone_is_settled_twice(self):
        """A decided milestone's hold saw one capture or one release (a capture in part gives
        the rest back in the same operation); an open one, neither."""
        for modelled in self.model:
            hold = Milestone.objects.get(pk=modelled.pk).hold_id
            moves = list(
                CreditTransaction.objects.filter(
                    hold=hold, kind__in=["capture", "release"]
                ).values_list("kind", "amount")
            )
            kinds = [kind for kind, _ in moves]
            assert kinds.count("capture") <= 1, moves
            assert kinds.count("release") <= 1, moves
            settled = sum(amount for _, amount in moves)
            assert settled == (modelled.amount if modelled.status in FINAL else 0), moves

    @invariant()
    def the_ledger_reconciles(self):
        assert reconcile().problems == []


@pytest.mark.django_db
def test_the_job_flow_keeps_its_credits_whatever_the_order_of_steps():
    JobMachine.TestCase.settings = hypothesis_settings
    JobMachine.TestCase().runTest()


hypothesis_settings = settings(
    max_examples=30,
    stateful_step_count=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
