"""The one record of an Idempotency-Key: the API's answer is kept on the ledger's record, in the
same statement as the work, and replayed byte for byte (see docs/idempotency.md)."""

import importlib
import threading
from types import SimpleNamespace

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection
from django.test import Client

from credits import services
from credits.actors import Actor
from credits.models import CreditTransaction, IdempotencyRecord
from tests.clients import Api
from tests.credits.conftest import fund, state
from tests.factories import UserFactory
from tests.wire import traced

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]
postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="counts what reaches PostgreSQL (libpq's trace)"
)
SPEND = {"amount": 5, "description": "Logo"}


@pytest.fixture
def one_connection():
    """Requests keep the test's connection open (Django closes it after each one otherwise,
    CONN_MAX_AGE being 0 in tests), so one trace sees them all."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def spends(user) -> int:
    return CreditTransaction.objects.filter(wallet=user.wallet, kind="spend").count()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_api_spend_is_one_call_or_one_transaction_and_its_replay_two(
    one_connection, ledger_functions
):
    user = UserFactory()
    fund(user.wallet, 100)
    api = Api(user)
    api.post("spends", SPEND)  # the token's last use is noted now, not in the traced calls

    with traced() as first:
        spent = api.post("spends", SPEND, idempotency_key="logo-1")
    with traced() as replay:
        replayed = api.post("spends", SPEND, idempotency_key="logo-1")

    assert spent.status_code == 201
    if ledger_functions:  # token, kept answer + wallet, the spend's call (in autocommit)
        assert (first.transactions, len(first)) == (0, 3), first.statements
    else:  # token, kept answer + wallet, BEGIN, claim, write, COMMIT
        assert (first.transactions, len(first) <= 6) == (1, True), first.statements
    assert replay.transactions == 0, replay.statements
    assert len(replay) <= 3, replay.statements
    assert replayed.content == spent.content
    assert spends(user) == 2


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_with_a_session_an_api_spend_is_at_most_seven_statements(one_connection, ledger_functions):
    user = UserFactory()
    fund(user.wallet, 100)
    client = Client()
    client.force_login(user)
    post = lambda key: client.post(  # noqa: E731
        "/api/v1/spends", SPEND, content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )
    post("warm")  # the session's last-seen mark is written now, not in the traced call

    with traced() as wire:
        spent = post("logo-2")

    assert spent.status_code == 201
    if ledger_functions:  # session, user, kept answer + wallet, the spend's call
        assert (wire.transactions, len(wire)) == (0, 4), wire.statements
    else:
        assert (wire.transactions, len(wire) <= 7) == (1, True), wire.statements


def test_the_answer_is_kept_on_the_ledgers_record_of_the_key(api_user):
    user, api = api_user

    spent = api.post("spends", SPEND, idempotency_key="logo-3")
    replayed = api.post("spends", SPEND, idempotency_key="logo-3")

    record = IdempotencyRecord.objects.get(key="logo-3")
    assert record.credit_transaction.pk == spent.json()["id"]
    assert (record.response_status, record.response_body.encode()) == (201, spent.content)
    assert replayed.content == spent.content  # byte for byte
    assert replayed["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in spent
    assert IdempotencyRecord.objects.filter(scope=f"user:{user.pk}").count() == 1


def test_a_refusal_is_kept_with_its_answer_and_replayed(api_user):
    user, api = api_user

    refused = api.post("spends", {**SPEND, "amount": 10_000}, idempotency_key="big")
    fund(user.wallet, 50_000)
    again = api.post("spends", {**SPEND, "amount": 10_000}, idempotency_key="big")

    assert refused.status_code == again.status_code == 422
    assert again.content == refused.content
    record = IdempotencyRecord.objects.get(key="big")
    assert (record.refusal_code, record.response_status) == ("insufficient_credits", 422)
    assert spends(user) == 0


def test_a_hold_whose_answer_names_its_new_hold_is_kept_in_the_same_transaction(api_user):
    user, api = api_user

    held = api.post("holds", SPEND, idempotency_key="hold-1")
    again = api.post("holds", SPEND, idempotency_key="hold-1")

    assert held.status_code == 201
    assert again.content == held.content
    assert IdempotencyRecord.objects.get(key="hold-1").response_body.encode() == held.content
    assert state(user.wallet) == (100, 5, 95)


def test_the_same_key_from_a_page_and_the_api_is_one_record(api_user):
    """A key the ledger saw first (a page, a command) answers the API with the ledger's replay."""
    user, api = api_user
    txn = services.spend(
        wallet=user.wallet,
        amount=5,
        description="Logo",
        actor=Actor.for_user(user),
        idempotency_key="shared",
    )

    through_api = api.post("spends", {**SPEND, "reference": ""}, idempotency_key="shared")

    assert (through_api.status_code, through_api.json()["id"]) == (201, txn.pk)
    assert spends(user) == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_twins_racing_with_one_key_spend_once_and_get_the_same_bytes():
    user = UserFactory()
    fund(user.wallet, 100)
    api = Api(user)
    barrier = threading.Barrier(2)
    answers = []

    def twin():
        barrier.wait()
        answers.append(api.post("spends", SPEND, idempotency_key="twin"))
        connection.close()

    threads = [threading.Thread(target=twin) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answer.status_code for answer in answers) == [201, 201]
    assert answers[0].content == answers[1].content
    assert spends(user) == 1


def test_stored_responses_of_before_carry_over_and_still_replay(api_user):
    """The migration that removed integrations.StoredResponse: its answers move onto the
    ledger's records, whose 'api:' keys become the clients' keys."""
    user, api = api_user
    scope = f"user:{user.pk}"
    answered = services.spend(
        wallet=user.wallet, amount=5, description="Logo", actor=Actor.for_user(user),
        idempotency_key="api:old-1",
    )  # fmt: skip
    unanswered = services.spend(
        wallet=user.wallet, amount=7, description="Icons", actor=Actor.for_user(user),
        idempotency_key="api:old-2",
    )  # fmt: skip
    migration = importlib.import_module(
        "integrations.migrations.0003_answers_on_the_ledgers_record"
    )
    earlier = SimpleNamespace(
        scope=scope,
        key="old-1",
        fingerprint=api_fingerprint("spends", SPEND),
        status_code=201,
        body={"id": answered.pk, "kind": "spend", "amount": 5},
        created_at=answered.created_at,
    )

    carried = migration.carry_over(
        IdempotencyRecord.objects, services.staff.ApprovalRequest.objects, [earlier]
    )

    assert carried == 1
    replayed = api.post("spends", SPEND, idempotency_key="old-1")
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json() == {"id": answered.pk, "kind": "spend", "amount": 5}
    retried = api.post("spends", {"amount": 7, "description": "Icons"}, idempotency_key="old-2")
    assert (retried.status_code, retried.json()["id"]) == (201, unanswered.pk)
    assert spends(user) == 2


def api_fingerprint(path: str, body: dict) -> str:
    import hashlib
    import json

    text = json.dumps(body, sort_keys=True, default=str)
    return hashlib.sha256(f"POST /api/v1/{path}\n{text}".encode()).hexdigest()


@pytest.fixture
def api_user():
    user = UserFactory()
    fund(user.wallet, 100)
    return user, Api(user)
