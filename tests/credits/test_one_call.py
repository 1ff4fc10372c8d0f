"""PostgreSQL's one-call operations (credits.services.one_call) against the Python rules.

Two ledgers side by side in one database: every operation of a random sequence is made on both,
one through the functions and one through the Python rules alone (CREDITS_LEDGER_FUNCTIONS off),
and after each step everything they wrote must be the same: outcomes and refusals, balances,
grants' remainders, transactions, entries, allocations, the keys' records and the events. A
rule changed in one implementation and not the other fails here, on its shortest sequence.
"""

import collections
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from credits import services
from credits.actors import Actor
from credits.errors import CreditError
from credits.models import Allocation, CreditGrant, CreditTransaction, Entry, Hold, Wallet
from credits.reconciliation import reconcile
from credits.services.transfers import RECEIVER_KEY
from events.models import Event
from tests.clients import Api
from tests.credits.conftest import ACTOR, fund
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the ledger's functions are PostgreSQL's"
    ),
    pytest.mark.usefixtures("everyone_listens"),
]

WALLETS = 2
WORLDS = {"functions": True, "python": False}
# How many operations each function made whole (so the test is not idle).
ONE_CALLS = collections.Counter()
ONE_CALL_FUNCTIONS = r"credits_(take|settle|transfer)\("
APP = Actor.for_app(1, "Partner")  # an app acting as itself: no cap, so the function may run
# Who acts, by name, resolved against the wallet acted on: CreditDesk, an app as itself, the
# wallet's owner, an app for the owner (no cap either): each a key space of its own.
ACTORS = st.sampled_from(["system", "app", "owner", "app for owner"])
# Who settles a hold: CreditDesk (which may settle any) as often as all the others.
SETTLERS = st.sampled_from(["system", "system", "system", "app", "owner", "app for owner"])


def actor_named(name: str, wallet: Wallet) -> Actor:
    return {
        "system": lambda: ACTOR,
        "app": lambda: APP,
        "owner": lambda: Actor.for_user(wallet.user),
        "app for owner": lambda: Actor.for_app(1, "Partner", user_id=wallet.user_id),
    }[name]()


def _python_claim(sql: str) -> bool:
    return sql.startswith("WITH claim AS") or sql.startswith(
        "INSERT INTO credits_idempotencyrecord"
    )


class World:
    """One of the two ledgers: its wallets, and how to tell its rows apart from the other's."""

    def __init__(self, name: str):
        self.name = name
        self.wallets = [UserFactory().wallet for _ in range(WALLETS)]
        self.keys = 0

    def key(self) -> str:
        self.keys += 1
        return f"{self.name}-{self.keys}"

    def run(self, call):
        """`call(world)`'s outcome: what it returned, or the refusal (class and message)."""
        with (
            override_settings(CREDITS_LEDGER_FUNCTIONS=WORLDS[self.name]),
            CaptureQueriesContext(connection) as wire,
        ):
            try:
                outcome = ("done", describe(call(self), self))
            except CreditError as refusal:
                message = str(refusal).replace(self.name, "(ledger)")  # keys name their ledger
                message = re.sub(r"Hold #\d+", "Hold #(id)", message)
                message = self.without_addresses(message)
                outcome = ("refused", type(refusal).__name__, refusal.code, message)
        statements = [query["sql"] or "" for query in wire.captured_queries]
        called = [m[1] for sql in statements if (m := re.search(ONE_CALL_FUNCTIONS, sql))]
        if called and not any(_python_claim(sql) for sql in statements):
            ONE_CALLS[called[0]] += 1  # the function did it all: no Python claim came after
        return outcome

    def without_addresses(self, text: str) -> str:
        """`text` with its people's addresses (a refusal names a hold's placer) as positions."""
        for index, wallet in enumerate(self.wallets):
            text = text.replace(wallet.user.email, f"(user {index})")
        return text

    def grants(self) -> list[CreditGrant]:
        return list(CreditGrant.objects.filter(wallet__in=self.wallets).order_by("id"))

    def transactions(self) -> list[CreditTransaction]:
        return list(CreditTransaction.objects.filter(wallet__in=self.wallets).order_by("id"))

    def snapshot(self) -> dict:
        """Everything this ledger wrote, with ids replaced by positions."""
        grant_ids = {grant.pk: index for index, grant in enumerate(self.grants())}
        txns = self.transactions()
        txn_ids = {txn.pk: index for index, txn in enumerate(txns)}
        wallet_ids = {wallet.pk: index for index, wallet in enumerate(self.wallets)}
        user_ids = {wallet.user_id: index for index, wallet in enumerate(self.wallets)}
        hold_ids = {
            hold.pk: index
            for index, hold in enumerate(
                Hold.objects.filter(wallet__in=self.wallets).order_by("id")
            )
        }
        ids = {"grant": grant_ids, "transaction": txn_ids, "wallet": wallet_ids, "hold": hold_ids}
        return {
            "wallets": [
                (wallet.balance, wallet.held, wallet.status, wallet.alerts)
                for wallet in Wallet.objects.filter(pk__in=wallet_ids).order_by("id")
            ],
            "grants": [
                (
                    wallet_ids[g.wallet_id],
                    g.source,
                    g.amount,
                    g.remaining,
                    g.expired_amount,
                    g.expires_at,
                    g.priority,
                    g.is_promotional,
                    g.cost_basis,
                    g.currency,
                    txn_ids.get(g.transaction_id),
                    g.created_at,
                )
                for g in self.grants()
            ],
            "transactions": [
                (
                    wallet_ids[txn.wallet_id],
                    txn.kind,
                    txn.amount,
                    positions(txn.description, ids),
                    txn.reference,
                    wallets_as_positions(txn.metadata, wallet_ids),
                    txn.actor_kind,
                    txn.actor_app_id,
                    # A person's label is their address: theirs, by position.
                    user_ids[txn.actor_user_id] if txn.actor_kind == "user" else txn.actor_label,
                    txn.created_at,
                    txn.idempotency_record.key.split("-")[1] if txn.idempotency_record else None,
                    hold_ids.get(txn.hold_id),
                )
                for txn in txns
            ],
            "holds": [
                (
                    wallet_ids[h.wallet_id],
                    h.amount,
                    h.captured_amount,
                    h.status,
                    h.description,
                    h.metadata,
                    h.expires_at,
                    h.created_at,
                    h.closed_at,
                )
                for h in Hold.objects.filter(wallet__in=self.wallets).order_by("id")
            ],
            "entries": [
                (
                    txn_ids[e.transaction_id],
                    wallet_ids.get(e.wallet_id, "system"),
                    e.amount,
                    e.balance_after,
                    e.created_at,
                )
                for e in Entry.objects.filter(transaction_id__in=txn_ids).order_by("id")
            ],
            "allocations": [
                (txn_ids[a.transaction_id], grant_ids[a.grant_id], a.amount)
                for a in Allocation.objects.filter(transaction_id__in=txn_ids).order_by("id")
            ],
            "keys": [
                (
                    r.key.split("-")[1],
                    r.operation,
                    r.refusal_code,
                    self.without_addresses(positions(r.refusal_message, ids)),
                    r.response_status,
                    positions(r.response_body, ids),
                    r.created_at,
                )
                for r in records(self)
            ],
            "events": [
                (
                    event.type,
                    event.version,
                    user_ids[event.user_id],
                    event.app_id,
                    event.occurred_at,
                    without_ids(event.data, ids),
                )
                for event in Event.objects.filter(user_id__in=user_ids).order_by("id")
            ],
        }


def records(world: World):
    from credits.models import IdempotencyRecord

    return IdempotencyRecord.objects.filter(key__startswith=f"{world.name}-").order_by("id")


def positions(text: str, ids: dict) -> str:
    """`text` with every "#<id>" of a grant or a transaction (and every "id": <n> of an answer)
    put as its position in its ledger."""
    text = re.sub(
        r"grant #(\d+)", lambda m: f"grant @{ids['grant'].get(int(m[1]), '?')}", text or ""
    )
    text = re.sub(r"Hold #(\d+)", lambda m: f"Hold @{ids['hold'].get(int(m[1]), '?')}", text)
    return re.sub(r'"id":(\d+)', lambda m: f'"id":@{ids["transaction"].get(int(m[1]), "?")}', text)


def wallets_as_positions(metadata: dict, wallet_ids: dict) -> dict:
    """A transfer's metadata with the wallet it names (the ledger's key) as its position."""
    if RECEIVER_KEY in metadata:
        return {**metadata, RECEIVER_KEY: wallet_ids[metadata[RECEIVER_KEY]]}
    return metadata


def without_ids(data: dict, ids: dict) -> dict:
    data = {
        name: value
        for name, value in data.items()
        if name not in ("transaction_id", "user_id", "hold_id")
    }
    if "description" in data:
        data["description"] = positions(data["description"], ids)
    if "metadata" in data:
        data["metadata"] = wallets_as_positions(data["metadata"], ids["wallet"])
    return data


def describe(result, world: World):
    """A service's result, as comparable across the ledgers."""
    if isinstance(result, CreditTransaction):
        wallet = result.wallet
        return (result.kind, result.amount, wallet.balance, wallet.held, wallet.available)
    if isinstance(result, list):
        return sorted(result)
    return result


class TwinLedgers(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self._clock = time_machine.travel(datetime(2030, 1, 1, tzinfo=UTC), tick=False)
        self._time = self._clock.start()
        self.worlds = [World(name) for name in WORLDS]
        self.last_spend = None
        self.read_holds = None

    def teardown(self):
        self._clock.stop()
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    def both(self, call):
        outcomes = [world.run(call) for world in self.worlds]
        assert outcomes[0] == outcomes[1]
        return outcomes[0]

    @initialize(
        paid=st.integers(20, 120),
        promotional=st.integers(0, 30),
        held=st.lists(st.integers(1, 15), max_size=3),
        placer=ACTORS,
    )
    def fund(self, paid, promotional, held, placer):
        """Credits in every wallet to begin with, and holds on them, so that most steps move
        some."""
        for index in range(WALLETS):
            self.grant(index, paid, days=None, promotional=False, priority=50)
            if promotional:
                self.grant(index, promotional, days=2, promotional=True, priority=10)
            for amount in held:
                self.hold(index, amount, placer)

    @rule(
        index=st.integers(0, WALLETS - 1),
        amount=st.integers(1, 60),
        days=st.none() | st.integers(1, 4),
        promotional=st.booleans(),
        priority=st.sampled_from([10, 50]),
    )
    def grant(self, index, amount, days, promotional, priority):
        expires_at = timezone.now() + timedelta(days=days) if days else None
        self.both(
            lambda world: services.grant(
                wallet=world.wallets[index],
                amount=amount,
                source="promotion" if promotional else "purchase",
                expires_at=expires_at,
                priority=priority,
                cost_basis=None if promotional else Decimal("0.125"),
                currency="" if promotional else "usd",
                actor=ACTOR,
                idempotency_key=world.key(),
            )
        )

    @rule(
        index=st.integers(0, WALLETS - 1),
        amount=st.integers(1, 80),
        actor=st.sampled_from([ACTOR, APP]),
        metadata=st.none() | st.just({"order": "A-1"}),
    )
    def spend(self, index, amount, actor, metadata):
        def spend(world):
            world.last_spend_key = world.key()
            return services.spend(
                wallet=world.wallets[index],
                amount=amount,
                actor=actor,
                idempotency_key=world.last_spend_key,
                description="model",
                reference=services.Reference(text="job-1"),
                metadata=metadata,
            )

        self.both(spend)
        self.last_spend = (index, amount, actor, metadata)

    @rule(other_amount=st.booleans())
    def spend_again(self, other_amount):
        """The last spend's key again: its outcome replayed, or a conflict for another amount."""
        if self.last_spend is None:
            return
        index, amount, actor, metadata = self.last_spend
        self.both(
            lambda world: services.spend(
                wallet=world.wallets[index],
                amount=amount + other_amount,
                actor=actor,
                idempotency_key=world.last_spend_key,
                description="model",
                reference=services.Reference(text="job-1"),
                metadata=metadata,
            )
        )

    @rule(index=st.integers(0, WALLETS - 1), amount=st.integers(1, 50), actor=ACTORS)
    def hold(self, index, amount, actor):
        self.both(
            lambda world: services.hold(
                wallet=world.wallets[index],
                amount=amount,
                actor=actor_named(actor, world.wallets[index]),
                idempotency_key=world.key(),
                description="draft",
            )
        )

    def holds_to_settle(self, data) -> list[Hold] | None:
        """The same hold of each ledger, open or not: as read now, or as a step before read it
        (a caller's stale copy, which the function must not trust)."""
        if self.read_holds is not None and data.draw(st.integers(0, 3), label="stale") == 0:
            holds = self.read_holds
        else:
            # Mostly the open ones: a closed hold is refused the same way every time.
            statuses = ["open"] if data.draw(st.integers(0, 3), label="open only") else None
            holds = [
                list(
                    Hold.objects.filter(wallet__in=world.wallets)
                    .filter(**({"status__in": statuses} if statuses else {}))
                    .order_by("id")
                )
                for world in self.worlds
            ]
            self.read_holds = holds
        if not holds[0]:
            return None
        position = data.draw(st.integers(0, len(holds[0]) - 1), label="hold")
        return [ledger_holds[position] for ledger_holds in holds]

    @rule(data=st.data(), actor=SETTLERS, metadata=st.none() | st.just({"why": "cancelled"}))
    def release(self, data, actor, metadata):
        holds = self.holds_to_settle(data)
        if holds is None:
            return
        self.both(
            lambda world: services.release(
                hold=holds[self.worlds.index(world)],
                actor=actor_named(actor, holds[self.worlds.index(world)].wallet),
                idempotency_key=world.key(),
                metadata=metadata,
            )
        )

    @rule(
        data=st.data(),
        amount=st.none() | st.integers(1, 12),
        final=st.booleans(),
        actor=SETTLERS,
        description=st.sampled_from(["", "milestone"]),
        metadata=st.none() | st.just({"milestone": "1"}),
    )
    def capture(self, data, amount, final, actor, description, metadata):
        """A capture of all a hold reserves or a part, closing it or not, by its placer or
        another caller."""
        holds = self.holds_to_settle(data)
        if holds is None:
            return
        self.both(
            lambda world: services.capture(
                hold=holds[self.worlds.index(world)],
                amount=amount,
                final=final,
                actor=actor_named(actor, holds[self.worlds.index(world)].wallet),
                idempotency_key=world.key(),
                description=description,
                metadata=metadata,
            )
        )

    @rule(
        sender=st.integers(0, WALLETS - 1),
        amount=st.integers(1, 60),
        limit=st.sampled_from([None, 40, 10_000]),
        metadata=st.none() | st.just({"note": "rent"}),
    )
    def transfer(self, sender, amount, limit, metadata):
        with override_settings(CREDITS_DAILY_TRANSFER_LIMIT=limit):
            self.both(
                lambda world: services.transfer(
                    sender=world.wallets[sender],
                    receiver=world.wallets[1 - sender],
                    amount=amount,
                    actor=Actor.for_user(world.wallets[sender].user),
                    idempotency_key=world.key(),
                    description="rent",
                    metadata=metadata,
                )
            )

    @rule(
        index=st.integers(0, WALLETS - 1),
        thresholds=st.lists(st.sampled_from([10, 30, 60]), max_size=2, unique=True),
    )
    def set_thresholds(self, index, thresholds):
        self.both(
            lambda world: services.set_thresholds(
                wallet=world.wallets[index], thresholds=thresholds, actor=ACTOR
            )
        )

    @rule(index=st.integers(0, WALLETS - 1), status=st.sampled_from(Wallet.Status.values))
    def change_status(self, index, status):
        self.both(
            lambda world: (
                services.change_status(
                    wallet=world.wallets[index], status=status, reason="model", actor=ACTOR
                ).pk
                and None
            )
        )

    @rule(hours=st.integers(1, 60))
    def advance_time(self, hours):
        self._time.shift(timedelta(hours=hours))

    @invariant()
    def both_ledgers_wrote_the_same(self):
        functions, python = (world.snapshot() for world in self.worlds)
        for part in functions:
            assert functions[part] == python[part], part

    @invariant()
    def the_ledger_reconciles(self):
        assert reconcile().problems == []


@pytest.mark.django_db
def test_the_functions_and_the_python_rules_write_the_same():
    TwinLedgers.TestCase.settings = settings(
        # The same runs every time: the count of operations the functions made whole below is
        # then a fixed figure, not a draw that can fall short.
        derandomize=True,
        database=None,
        max_examples=60,
        stateful_step_count=30,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    ONE_CALLS.clear()
    TwinLedgers.TestCase().runTest()
    # The rest were handed back (refusals, expiry, alerts, stale holds).
    assert ONE_CALLS["take"] > 100, ONE_CALLS
    assert ONE_CALLS["settle"] > 20, ONE_CALLS
    assert ONE_CALLS["transfer"] > 30, ONE_CALLS


# --- through the API: the same answers, and each replayed byte for byte ---------------------

# Paths and bodies may name a hold answered before ("{k3}": the hold of request 3) and the
# receiver of transfers ("{receiver}").
REQUESTS = [
    ("spends", {"amount": 5, "description": "Logo", "reference": "job-42", "metadata": {"a": "1"}}),
    ("spends", {"amount": 1, "description": "Tiny", "metadata": {"n": -700000000000000001}}),
    ("spends", {"amount": 500, "description": "More than there is"}),
    ("holds", {"amount": 7, "description": "Draft", "reference": "job-43"}),
    ("holds", {"amount": 3, "description": "Until", "expires_at": "2030-01-02T09:00:00Z"}),
    ("holds", {"amount": 500, "description": "More than there is"}),
    ("holds/{k3}/capture", {"amount": 2, "final": False, "metadata": {"milestone": "1"}}),
    ("holds/{k3}/capture", {"description": "The rest"}),
    ("holds/{k3}/capture", {}),
    ("holds/{k4}/release", {}),
    ("holds/{k4}/release", {}),
    ("transfers", {"amount": 4, "receiver_email": "{receiver}", "metadata": {"rent": "May"}}),
    ("transfers", {"amount": 500, "receiver_email": "{receiver}"}),
]
STATUSES = [201, 201, 422, 201, 201, 422, 200, 200, 422, 200, 422, 201, 422]


@pytest.mark.django_db
@time_machine.travel(datetime(2030, 1, 1, 9, tzinfo=UTC), tick=False)
def test_the_api_answers_the_same_through_either_and_replays_byte_for_byte(settings):
    answers = {}
    for name, enabled in WORLDS.items():
        settings.CREDITS_LEDGER_FUNCTIONS = enabled
        user, receiver = UserFactory(), UserFactory()
        fund(user.wallet, 100)
        api = Api(user)
        answers[name], named = [], {"receiver": receiver.email}
        for number, (path, body) in enumerate(REQUESTS):
            path = path.format(**named)
            body = {
                field: str(value).format(**named) if field == "receiver_email" else value
                for field, value in body.items()
            }
            with CaptureQueriesContext(connection) as wire:
                first = api.post(path, body, idempotency_key=f"k{number}")
            if enabled and first.status_code in (200, 201):  # each made whole in one call
                statements = [query["sql"] for query in wire.captured_queries]
                assert any(re.search(ONE_CALL_FUNCTIONS, sql) for sql in statements), path
                assert not any(_python_claim(sql) for sql in statements), path
            again = api.post(path, body, idempotency_key=f"k{number}")
            assert again.content == first.content
            assert again["Idempotent-Replayed"] == "true"
            answer = json.loads(re.sub(r"Hold #\d+", "Hold #(id)", first.content.decode()))
            if first.status_code in (200, 201):
                txn = CreditTransaction.objects.get(
                    idempotency_record__key=f"k{number}", wallet=user.wallet
                )
                if path == "holds":
                    assert answer["id"] == txn.hold_id
                    named[f"k{number}"] = txn.hold_id
                else:
                    assert (answer["id"], answer.get("hold")) == (txn.pk, txn.hold_id)
                answer = {**answer, "id": "(id)", **({"hold": "(id)"} if "hold" in answer else {})}
                if RECEIVER_KEY in answer["metadata"]:
                    assert answer["metadata"][RECEIVER_KEY] == receiver.wallet.pk
                    answer["metadata"] = {**answer["metadata"], RECEIVER_KEY: "(receiver)"}
            answers[name].append((first.status_code, answer))
        user.wallet.refresh_from_db()
        receiver.wallet.refresh_from_db()
        answers[name].append((user.wallet.balance, user.wallet.held, receiver.wallet.balance))
    assert answers["functions"] == answers["python"]
    assert [status for status, _ in answers["functions"][:-1]] == STATUSES
    assert answers["functions"][-1] == (83, 0, 4)


@pytest.mark.django_db(transaction=True)
def test_a_spend_made_in_one_call_holds_no_transaction_open():
    """In autocommit the call is its own transaction: committed once it returns."""
    wallet = UserFactory().wallet
    fund(wallet, 10)

    txn = services.spend(wallet=wallet, amount=3, actor=ACTOR, idempotency_key="one-call")

    assert connection.get_autocommit()
    assert not connection.in_atomic_block
    assert (txn.wallet.balance, txn.wallet.available) == (7, 7)
    assert CreditTransaction.objects.get(pk=txn.pk).idempotency_record.key == "one-call"
    assert reconcile().problems == []
