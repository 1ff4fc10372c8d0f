"""Spends and holds as one call to a PostgreSQL function (migration 0012): one round trip.

Python drove a spend in four (BEGIN, claim-and-lock, write, COMMIT), with the wallet's row
locked across three of them and the Python between. `credits_take` does the same work inside
the server, called in autocommit: the claim, the lock, the burn-down and every row, in one
statement's transaction. The event the operation announces (events.outbox) is written by the
same statement, after the function, under the audiences' own condition. Captures, releases and
transfers still run their Python rules on PostgreSQL too.

The function decides only the plain case; anything more (a refusal, credits past their date, a
low-balance threshold crossed) it hands back, having written nothing, and `run_operation` runs
the Python rules as on SQLite. So there is one set of rules for what is not plain, and the plain
case is proven equal to it (tests/credits/test_one_call.py).

What the API answers is made before the call, by the same serializer, with stand-ins for the
figures only the function knows (the transaction's and the hold's ids, the balance after): the
function puts them in their places, and keeps the answer on the key's record in the same
transaction.
"""

import functools
import json
import secrets
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

from credits.actors import Actor
from credits.models import CreditTransaction, Hold, Wallet
from credits.services.locks import WALLET_ROW
from credits.services.posting import EVENT_FOR_KIND, Reference, prepared_cursor
from events.outbox import Announcement, insert_statement, kick_after_commit

# The SQLSTATE the functions raise to hand an operation back to the Python rules.
HAND_BACK = "CDPY1"


class HandedBack(Exception):
    """The function left this operation to the Python rules, having written nothing."""


def available(actor: Actor, vendor: str) -> bool:
    """Whether an operation by `actor` may go in one call: PostgreSQL, the setting on, and no
    Python check the function cannot make (a partner app's cap and consent; a staff member's
    own wallet, which Python refuses and keeps as a refusal)."""
    return (
        vendor == "postgresql"
        and settings.CREDITS_LEDGER_FUNCTIONS
        and actor.charge_limit is None
        and actor.kind != "staff"
    )


# --- what the API answers ------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """An answer's status and body cut where the function's figures go: pieces[0], the figure
    named names[0], pieces[1], … ."""

    status: int
    pieces: list[str]
    names: list[str]

    def filled(self, figures: dict[str, int]) -> bytes:
        parts = [self.pieces[0]]
        for name, piece in zip(self.names, self.pieces[1:], strict=True):
            parts += [str(figures[name]), piece]
        return "".join(parts).encode()


# Stand-ins no real figure takes (beyond any balance), drawn per process so no caller can aim
# at them; an answer in which one shows up where the answer puts none, or more than once, is
# not cut, but made by Python.
_STAND_IN_BASE = 10**17 * 7


@functools.cache
def _stand_ins() -> dict[str, int]:
    draw = secrets.randbelow(10**15)
    balance, held = -(_STAND_IN_BASE + draw), _STAND_IN_BASE + draw + 1
    return {
        "transaction_id": -(3 * 10**17 + draw),
        "hold_id": -(4 * 10**17 + draw),
        "balance": balance,
        "held": held,
        "available": balance - held,
    }


def template(
    answer, result_with_stand_ins, stand_ins: dict[str, int], put: frozenset[str]
) -> Template | None:
    """The answer for a result whose figures are the stand-ins, cut at each figure it `put`s;
    None if a stand-in shows up where the answer does not put one, or more than once: the
    caller's own text happens to contain it."""
    status, body = answer(result_with_stand_ins)
    text = body.decode()
    found = []
    for name, value in stand_ins.items():
        count = text.count(str(value))
        if count > (1 if name in put else 0):
            return None
        if count == 1:
            found.append((text.index(str(value)), name, str(value)))
    pieces, names, start = [], [], 0
    for position, name, value in sorted(found):
        pieces.append(text[start:position])
        names.append(name)
        start = position + len(value)
    pieces.append(text[start:])
    return Template(status=status, pieces=pieces, names=names)


# --- spends and holds ----------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """What run_operation hands an operation's one call: the key's record row (scope, key,
    operation, fingerprint, time), who answers for it (the API) if anyone, and the time."""

    row: list
    caller: object  # operation.Answering | None
    now: datetime


REPLAYED = object()  # the key was taken: run_operation replays its outcome

Kind = CreditTransaction.Kind


def take(
    call: Call,
    *,
    kind: str,
    actor: Actor,
    wallet: Wallet,
    amount: int,
    description: str,
    reference: Reference,
    metadata: dict | None,
    counter_wallet_id: int | None = None,
    hold_expires_at: datetime | None = None,
):
    """Run `credits_take` for a spend (credits out, to `counter_wallet_id`) or a hold (credits
    reserved until `hold_expires_at`): the operation's transaction (a hold's has its `hold`),
    or REPLAYED; HandedBack if the function left it to the Python rules, having written
    nothing."""
    target = reference.obj
    txn = _transaction(
        kind=kind,
        wallet=wallet,
        amount=amount,
        description=description,
        reference=reference.text,
        reference_type_id=ContentType.objects.get_for_model(target).pk if target else None,
        reference_id=str(target.pk) if target else "",
        metadata=metadata or {},
        actor_kind=actor.kind,
        actor_user_id=actor.user_id,
        actor_app_id=actor.app_id,
        actor_label=actor.label[:100],
        created_at=call.now,
    )
    if kind == Kind.HOLD:
        txn.hold = _hold(txn, hold_expires_at)
    answer = _answer_template(call.caller, txn)
    params = [
        *call.row,
        kind,
        wallet.pk,
        amount,
        counter_wallet_id,
        hold_expires_at,
        description,
        txn.reference,
        txn.reference_type_id,
        txn.reference_id,
        json.dumps(txn.metadata),
        txn.actor_kind,
        txn.actor_user_id,
        txn.actor_app_id,
        txn.actor_label,
        answer.status if answer else None,
        answer.pieces if answer else None,
        answer.names if answer else None,
        call.caller.request_fingerprint if answer else "",
    ]
    announcement = Announcement(
        EVENT_FOR_KIND[kind],
        _announced_data(txn, wallet),
        user_id=wallet.user_id,
        app_id=actor.app_id,
        occurred_at=call.now,
        refs=FIGURES_SQL if kind == Kind.HOLD else SPEND_FIGURES_SQL,
    )
    called = _call(TAKE_CALL, params, [announcement])
    if called is REPLAYED:
        return REPLAYED
    txn.pk, txn.idempotency_record_id, figures = called
    txn.wallet.balance, txn.wallet.held = figures["balance"], figures["held"]
    txn.wallet.alerts = figures["alerts"]
    if txn.hold is not None:
        txn.hold.pk = txn.hold_id = figures["hold_id"]
    if answer is not None:
        call.caller.answered = (answer.status, answer.filled(figures))
    return txn


TRANSACTION_FIELDS = tuple(field.attname for field in CreditTransaction._meta.concrete_fields)
HOLD_FIELDS = tuple(field.attname for field in Hold._meta.concrete_fields)


def _transaction(*, wallet: Wallet, **values) -> CreditTransaction:
    """The transaction the function writes, as the ORM builds a row it read (positionally:
    half the cost of keyword arguments, which every spend would pay), with its wallet as the
    function leaves it (figures set once known)."""
    values["wallet_id"] = wallet.pk
    txn = CreditTransaction.from_db(
        DEFAULT_DB_ALIAS, TRANSACTION_FIELDS, [values.get(name) for name in TRANSACTION_FIELDS]
    )
    txn.wallet = WALLET_ROW.build(
        [wallet.pk, Wallet.Kind.USER, wallet.user_id, None, None, Wallet.Status.ACTIVE, None]
    )
    return txn


def _hold(txn: CreditTransaction, expires_at: datetime | None) -> Hold:
    """The hold the function opens for `txn`, as holds.hold makes it (id set once known)."""
    values = {
        "wallet_id": txn.wallet_id,
        "amount": txn.amount,
        "captured_amount": 0,
        "status": Hold.Status.OPEN,
        "description": txn.description,
        "reference": txn.reference,
        "metadata": txn.metadata,
        "expires_at": expires_at,
        "created_at": txn.created_at,
    }
    hold = Hold.from_db(DEFAULT_DB_ALIAS, HOLD_FIELDS, [values.get(name) for name in HOLD_FIELDS])
    hold.wallet = txn.wallet
    return hold


# The figures only the function knows, as SQL over its result (`called`).
FIGURES_SQL = {
    "transaction_id": "transaction_id",
    "hold_id": "hold_id",
    "balance": "balance",
    "held": "held",
    "available": "balance - held",
}
SPEND_FIGURES_SQL = {name: sql for name, sql in FIGURES_SQL.items() if name != "hold_id"}


def _answer_template(caller, txn: CreditTransaction) -> Template | None:
    """The caller's answer for `txn` with stand-ins for its figures, or None if no one answers."""
    if caller is None:
        return None
    stand_ins = _stand_ins()
    put = _figures_put(caller, txn, stand_ins)
    with _standing_in(txn, stand_ins):
        cut = template(caller.answer, txn, stand_ins, put)
    if cut is None:
        raise HandedBack("a stand-in figure shows up in the caller's own text")
    return cut


# Which figures an answer puts, per (answer, kind): learned once from an answer holding none of
# the caller's text, so that text, whatever digits it holds, is never taken for a figure (a
# spend's answer names no `held`: a description holding the stand-in's digits would be).
_PUT: dict[tuple[object, str], frozenset[str]] = {}
CALLERS_TEXT = ("description", "reference", "actor_label")


def _figures_put(caller, txn: CreditTransaction, stand_ins: dict[str, int]) -> frozenset[str]:
    learned = (caller.answer_shape, txn.kind)
    if caller.answer_shape is None or learned not in _PUT:
        saved = {name: getattr(txn, name) for name in (*CALLERS_TEXT, "metadata")}
        for name in CALLERS_TEXT:
            setattr(txn, name, "")
        txn.metadata = {}
        if txn.hold is not None:
            saved_hold = (txn.hold.description, txn.hold.reference, txn.hold.metadata)
            txn.hold.description, txn.hold.reference, txn.hold.metadata = "", "", {}
        try:
            with _standing_in(txn, stand_ins):
                text = caller.answer(txn)[1].decode()
        finally:
            for name, value in saved.items():
                setattr(txn, name, value)
            if txn.hold is not None:
                txn.hold.description, txn.hold.reference, txn.hold.metadata = saved_hold
        put = frozenset(name for name, value in stand_ins.items() if str(value) in text)
        if caller.answer_shape is None:
            return put
        _PUT[learned] = put
    return _PUT[learned]


@contextmanager
def _standing_in(txn: CreditTransaction, stand_ins: dict[str, int]):
    """`txn` with the stand-ins for the figures the function sets, and without after."""
    txn.pk = stand_ins["transaction_id"]
    if txn.hold is not None:
        txn.hold.pk = stand_ins["hold_id"]
    txn.wallet.balance, txn.wallet.held = stand_ins["balance"], stand_ins["held"]
    try:
        yield txn
    finally:
        txn.pk = None
        if txn.hold is not None:
            txn.hold.pk = None


def _announced_data(txn: CreditTransaction, wallet: Wallet) -> dict:
    """The event's data as the posting makes it (posting._announcement), with the figures the
    function sets left to it."""
    return {
        "transaction_id": None,
        "kind": txn.kind,
        "amount": txn.amount,
        "user_id": wallet.user_id,
        "app_id": txn.actor_app_id,
        "hold_id": None,
        "reference": txn.reference,
        "description": txn.description,
        "metadata": txn.metadata,
        "balance": None,
        "held": None,
        "available": None,
        "created_at": txn.created_at,
    }


TAKE_CALL = "SELECT * FROM credits_take(" + ", ".join(["%s"] * 23) + ")"  # noqa: S608
RESULT_COLUMNS = "outcome, record_id, transaction_id, hold_id, balance, held, alerts"


def _call(call_sql: str, params: list, announcements: list[Announcement]):
    """The function's call, with its events' insert in the same statement; in autocommit it
    is its own transaction, inside one it is a savepoint (so a hand-back leaves it whole)."""
    events = insert_statement(
        announcements,
        resolve=lambda figure: (f"(SELECT {figure} FROM called)", []),  # noqa: S608 (FIGURES_SQL)
        vendor="postgresql",
        when="(SELECT outcome FROM called) = 'done'",
    )
    if events is None:
        sql, event_params = _statement(call_sql, None), []
    else:
        sql, event_params = _statement(call_sql, events[0]), events[1]
    wrapper = connections[DEFAULT_DB_ALIAS]
    try:
        if wrapper.in_atomic_block:
            with transaction.atomic():
                found = _execute(sql, [*params, *event_params])
        else:
            found = _execute(sql, [*params, *event_params])
    except DatabaseError as error:
        if getattr(error.__cause__, "sqlstate", None) == HAND_BACK:
            raise HandedBack(str(error.__cause__)) from error
        raise
    outcome, record_id, transaction_id, hold_id, balance, held, alerts, events_written = found
    if outcome == "replay":
        return REPLAYED
    if events_written:
        kick_after_commit()
    if isinstance(alerts, str):  # a raw cursor hands JSON back as text
        alerts = json.loads(alerts)
    figures = {"balance": balance, "held": held, "available": balance - held, "alerts": alerts}
    figures |= {"transaction_id": transaction_id, "hold_id": hold_id}
    return transaction_id, record_id, figures


def _execute(sql: str, params: list):
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@functools.lru_cache(maxsize=256)
def _statement(call_sql: str, events_sql: str | None) -> str:
    """The call and its events' insert: our own statements' text, never a caller's."""
    if events_sql is None:
        return f"WITH called AS MATERIALIZED ({call_sql}) SELECT {RESULT_COLUMNS}, 0 FROM called"  # noqa: S608
    return (
        f"WITH called AS MATERIALIZED ({call_sql}), ev AS ({events_sql}) "  # noqa: S608
        f"SELECT {RESULT_COLUMNS}, (SELECT count(*) FROM ev) FROM called"
    )
