"""The hot operations as one call to a PostgreSQL function each: one round trip.

Spends and holds call `credits_take` (migration 0012); captures and releases `credits_settle`,
transfers `credits_transfer` (migration 0013).

Python drove a spend in four (BEGIN, claim-and-lock, write, COMMIT), with the wallet's row
locked across three of them and the Python between. `credits_take` does the same work inside
the server, called in autocommit: the claim, the lock, the burn-down and every row, in one
statement's transaction. The event the operation announces (events.outbox) is written by the
same statement, after the function, under the audiences' own condition.

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
from credits.models import CreditGrant, CreditTransaction, Hold, Wallet
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
    acted = _acted_by(actor)
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
        **acted,
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
        *acted.values(),
        *_answer_params(answer, call),
    ]
    announcement = Announcement(
        EVENT_FOR_KIND[kind],
        _announced_data(txn, wallet),
        user_id=wallet.user_id,
        app_id=actor.app_id,
        occurred_at=call.now,
        refs=FIGURES_SQL if kind == Kind.HOLD else SPEND_FIGURES_SQL,
    )
    figures = _call(TAKE_CALL, TAKE_COLUMNS, params, [announcement])
    if figures is REPLAYED:
        return REPLAYED
    _done(txn, figures, answer, call)
    if txn.hold is not None:
        hold = txn.hold
        hold.pk = figures["hold_id"]
        txn.hold = hold  # its id, and the hold kept: setting hold_id alone would forget it
    return txn


def _done(txn: CreditTransaction, figures: dict, answer: "Template | None", call: Call) -> None:
    """`txn` as the function wrote it, and the caller's answer with the function's figures."""
    txn.pk, txn.idempotency_record_id = figures["transaction_id"], figures["record_id"]
    txn.wallet.balance, txn.wallet.held = figures["balance"], figures["held"]
    txn.wallet.alerts = figures["alerts"]
    if answer is not None:
        call.caller.answered = (answer.status, answer.filled(figures))


# --- captures and releases ----------------------------------------------------------------


def settle(
    call: Call,
    *,
    kind: str,
    actor: Actor,
    hold: Hold,
    amount: int,
    final: bool,
    description: str,
    release_description: str,
    metadata: dict | None,
    consumption_id: int,
):
    """Run `credits_settle` for a capture of `amount` credits of `hold` (closing it if `final`)
    or a release of what it still reserves: the operation's transaction, or REPLAYED;
    HandedBack if the function left it to the Python rules, having written nothing.

    What it answers is made from `hold` as the caller read it; the function hands back unless
    the hold is still so under its wallet's lock."""
    uncaptured = hold.amount - hold.captured_amount
    to_capture = amount if kind == Kind.CAPTURE else 0
    if hold.status != Hold.Status.OPEN or not 0 <= to_capture <= uncaptured:
        raise HandedBack("the hold is not open, or has less than that")
    closing = kind == Kind.RELEASE or final or to_capture == uncaptured
    returned = uncaptured - to_capture if closing else 0
    wallet = hold.wallet  # for its owner, whom the events are about (a wallet's never changes)
    settled = _settled(hold, to_capture, closing, kind, call.now)
    made = {}
    if kind == Kind.CAPTURE:
        made["capture"] = _settling(Kind.CAPTURE, to_capture, description, metadata)
    if returned:
        released_metadata = metadata if kind == Kind.RELEASE else None
        made["release"] = _settling(Kind.RELEASE, returned, release_description, released_metadata)
    acted = _acted_by(actor)
    txns = {
        name: _transaction(
            wallet=wallet,
            **values,
            reference="",
            reference_id="",
            **acted,
            hold_id=hold.pk,
            created_at=call.now,
        )
        for name, values in made.items()
    }
    primary = txns.get("capture") or txns.get("release")
    for txn in txns.values():  # one hold and one wallet row, as the Python rules leave them
        txn.hold, txn.wallet = settled, primary.wallet
    answer = _answer_template(call.caller, primary)
    params = [
        *call.row,
        kind,
        hold.pk,
        hold.wallet_id,
        hold.captured_amount,
        hold.description,
        to_capture,
        final,
        description,
        release_description,
        json.dumps(metadata or {}),
        *acted.values(),
        consumption_id,
        *_answer_params(answer, call),
    ]
    announcements = []
    for name, txn in txns.items():
        data = _announced_data(txn, wallet) | {"hold_id": hold.pk}
        ids = {"transaction_id": "release_id" if name == "release" else "transaction_id"}
        announcements.append(
            Announcement(
                EVENT_FOR_KIND[txn.kind],
                data,
                user_id=wallet.user_id,
                app_id=actor.app_id,
                occurred_at=call.now,
                refs=SPEND_FIGURES_SQL | ids,
            )
        )
    figures = _call(SETTLE_CALL, SETTLE_COLUMNS, params, announcements)
    if figures is REPLAYED:
        return REPLAYED
    _done(primary, figures, answer, call)
    return primary


def _settling(kind: str, amount: int, description: str, metadata: dict | None) -> dict:
    return {"kind": kind, "amount": amount, "description": description, "metadata": metadata or {}}


def _settled(hold: Hold, captured: int, closing: bool, kind: str, now: datetime) -> Hold:
    """`hold` as the settlement leaves it (a copy: as Python's, the caller's stays as read)."""
    settled = Hold.from_db(
        DEFAULT_DB_ALIAS, HOLD_FIELDS, [getattr(hold, name) for name in HOLD_FIELDS]
    )
    settled.captured_amount += captured
    if closing:
        closed = Hold.Status.CAPTURED if kind == Kind.CAPTURE else Hold.Status.RELEASED
        settled.status, settled.closed_at = closed, now
    return settled


SETTLE_CALL = "SELECT * FROM credits_settle(" + ", ".join(["%s"] * 24) + ")"  # noqa: S608
SETTLE_COLUMNS = (
    "outcome",
    "record_id",
    "transaction_id",
    "release_id",
    "balance",
    "held",
    "alerts",
)


# --- transfers -----------------------------------------------------------------------------


def transfer(
    call: Call,
    *,
    actor: Actor,
    sender: Wallet,
    receiver: Wallet,
    amount: int,
    description: str,
    metadata: dict,
    clearing_id: int,
    limit: int | None,
    day_start: datetime,
):
    """Run `credits_transfer` for `amount` paid credits from `sender` to `receiver` (at most
    `limit` a day since `day_start`, if any): the transfer's transaction, or REPLAYED;
    HandedBack if the function left it to the Python rules, having written nothing."""
    acted = _acted_by(actor)
    txn = _transaction(
        kind=Kind.TRANSFER,
        wallet=sender,
        amount=amount,
        description=description,
        reference="",
        reference_id="",
        metadata=metadata,
        **acted,
        created_at=call.now,
    )
    answer = _answer_template(call.caller, txn)
    params = [
        *call.row,
        sender.pk,
        receiver.pk,
        amount,
        clearing_id,
        limit,
        day_start,
        description,
        json.dumps(metadata),
        *acted.values(),
        *_answer_params(answer, call),
    ]
    sent = Announcement(
        "transfer.sent",
        _announced_data(txn, sender),
        user_id=sender.user_id,
        app_id=actor.app_id,
        occurred_at=call.now,
        refs=SPEND_FIGURES_SQL,
    )
    # The receiver's event, with its figures, and where its new credits came from.
    received = Announcement(
        "transfer.received",
        _announced_data(txn, receiver) | {"source": CreditGrant.Source.TRANSFER.value},
        user_id=receiver.user_id,
        app_id=actor.app_id,
        occurred_at=call.now,
        refs=RECEIVER_FIGURES_SQL,
    )
    figures = _call(TRANSFER_CALL, TRANSFER_COLUMNS, params, [sent, received])
    if figures is REPLAYED:
        return REPLAYED
    _done(txn, figures, answer, call)
    return txn


TRANSFER_CALL = "SELECT * FROM credits_transfer(" + ", ".join(["%s"] * 21) + ")"  # noqa: S608
TRANSFER_COLUMNS = (
    "outcome",
    "record_id",
    "transaction_id",
    "balance",
    "held",
    "alerts",
    "receiver_balance",
    "receiver_held",
    "receiver_expires_at",
)
RECEIVER_FIGURES_SQL = {
    "transaction_id": "transaction_id",
    "balance": "receiver_balance",
    "held": "receiver_held",
    "available": "receiver_balance - receiver_held",
    "expires_at": "receiver_expires_at",
}


def _acted_by(actor: Actor) -> dict:
    """Who a transaction says acted, as its actor columns (in the functions' parameter order)."""
    return {
        "actor_kind": actor.kind,
        "actor_user_id": actor.user_id,
        "actor_app_id": actor.app_id,
        "actor_label": actor.label[:100],
    }


def _answer_params(answer: "Template | None", call: Call) -> list:
    """The answer's four parameters of each function: status, pieces, names, fingerprint."""
    if answer is None:
        return [None, None, None, ""]
    return [answer.status, answer.pieces, answer.names, call.caller.request_fingerprint]


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
    """`txn` with the stand-ins for the figures the function sets, and without after (a hold's
    id is one only for a hold the function opens)."""
    new_hold = txn.hold is not None and txn.hold.pk is None
    txn.pk = stand_ins["transaction_id"]
    if new_hold:
        txn.hold.pk = stand_ins["hold_id"]
    txn.wallet.balance, txn.wallet.held = stand_ins["balance"], stand_ins["held"]
    try:
        yield txn
    finally:
        txn.pk = None
        if new_hold:
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
TAKE_COLUMNS = ("outcome", "record_id", "transaction_id", "hold_id", "balance", "held", "alerts")


def _call(call_sql: str, columns: tuple[str, ...], params: list, announcements: list):
    """The function's call, with its events' insert in the same statement: the function's
    result by column (with `available`), or REPLAYED. In autocommit it is its own transaction,
    inside one it is a savepoint (so a hand-back leaves it whole)."""
    events = insert_statement(
        announcements,
        resolve=lambda figure: (f"(SELECT {figure} FROM called)", []),  # noqa: S608 (ours)
        vendor="postgresql",
        when="(SELECT outcome FROM called) = 'done'",
    )
    if events is None:
        sql, event_params = _statement(call_sql, columns, None), []
    else:
        sql, event_params = _statement(call_sql, columns, events[0]), events[1]
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
    figures = dict(zip(columns, found[:-1], strict=True))
    if figures["outcome"] == "replay":
        return REPLAYED
    if found[-1]:
        kick_after_commit()
    if isinstance(figures["alerts"], str):  # a raw cursor hands JSON back as text
        figures["alerts"] = json.loads(figures["alerts"])
    figures["available"] = figures["balance"] - figures["held"]
    return figures


def _execute(sql: str, params: list):
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


@functools.lru_cache(maxsize=256)
def _statement(call_sql: str, columns: tuple[str, ...], events_sql: str | None) -> str:
    """The call and its events' insert: our own statements' text, never a caller's."""
    selected = ", ".join(columns)
    if events_sql is None:
        return f"WITH called AS MATERIALIZED ({call_sql}) SELECT {selected}, 0 FROM called"  # noqa: S608
    return (
        f"WITH called AS MATERIALIZED ({call_sql}), ev AS ({events_sql}) "  # noqa: S608
        f"SELECT {selected}, (SELECT count(*) FROM ev) FROM called"
    )
