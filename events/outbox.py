"""Writing events: in the caller's transaction, and only when someone listens.

An upper app says who listens with an `Audience`: a SQL condition over the candidate row
(`event.type`, `event.user_id`, `event.app_id`, `event.data`), such as "an enabled webhook
endpoint of an app the user consented to wants this type" (integrations) or "the user wants this
e-mail" (notifications). The row is inserted by one `INSERT … SELECT … WHERE <any audience>`:
an event nobody listens to costs no row, and a type no audience names costs no statement at all.
The ledger folds the same statement into its posting's (credits.services.posting), so announcing a
spend adds no round trip.

Once the transaction commits, `kick` asks the worker (events.dispatch) to deliver. A crash
between the commit and the kick loses nothing: the event waits, undelivered, for the worker's
sweep (`db_worker` on start, `events_retry`).
"""

import functools
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from events.dispatch import dispatch_events
from events.models import Event
from events.types import event_type


@dataclass(frozen=True)
class Audience:
    """Someone who may listen: `condition` is true for a candidate `event` row they want.
    `types` limits it to those event types (None: any)."""

    name: str
    condition: str
    types: frozenset[str] | None = None


_audiences: dict[str, Audience] = {}

_TYPE_NAME = re.compile(r"^[a-z_]+\.[a-z_]+$")


def register_audience(audience: Audience) -> None:
    """Called from an app's `ready()`; registering a name again replaces it."""
    for name in audience.types or ():
        event_type(name)
        if not _TYPE_NAME.match(name):  # names are written into SQL below
            raise ValueError(f"unsafe event type name {name!r}")
    _audiences[audience.name] = audience
    _forget_statements()


def remove_audience(name: str) -> None:
    _audiences.pop(name, None)
    _forget_statements()


# Conditions made so far, by set of types: every spend asks, and audiences rarely change.
_conditions: dict[frozenset[str], str | None] = {}


def _forget_statements() -> None:
    _conditions.clear()
    _statement.cache_clear()


def audience_condition(types: frozenset[str]) -> str | None:
    """The SQL condition under which an event of one of `types` has a listener, or None if no
    audience names any of them."""
    try:
        return _conditions[types]
    except KeyError:
        condition = _conditions[types] = _condition(types)
        return condition


def _condition(types: frozenset[str]) -> str | None:
    parts = []
    for audience in _audiences.values():
        if audience.types is None:
            parts.append(f"({audience.condition})")
            continue
        wanted = sorted(audience.types & types)
        if wanted:
            names = ", ".join(f"'{name}'" for name in wanted)
            parts.append(f"(event.type IN ({names}) AND ({audience.condition}))")
    return " OR ".join(parts) or None


@dataclass
class Announcement:
    """An event to write. `refs` names top-level keys of `data` whose value is the id of a row
    written in the same statement (the ledger's new transaction or hold): `resolve` turns each
    into SQL when the statement is rendered."""

    type: str
    data: dict
    user_id: int | None = None
    app_id: int | None = None
    occurred_at: datetime | None = None
    refs: dict[str, object] = field(default_factory=dict)


def insert_statement(
    announcements: list[Announcement],
    resolve: Callable[[object], tuple[str, list]],
    vendor: str | None = None,
    when: str | None = None,
) -> tuple[str, list] | None:
    """One INSERT … SELECT of `announcements`, each row kept only if an audience listens (and
    `when`, a condition of the caller's own SQL, holds); or None when no audience could listen
    to any of them. Returns the inserted ids."""
    types = frozenset(announcement.type for announcement in announcements)
    if audience_condition(types) is None:
        return None
    vendor = vendor or connection.vendor
    shape, params = [], []
    for announcement in announcements:
        resolved = [(key, *resolve(ref)) for key, ref in announcement.refs.items()]
        shape.append((announcement.type, tuple((key, sql) for key, sql, _ in resolved)))
        params += _values(announcement, vendor)
        for _key, _sql, ref_params in resolved:
            params += ref_params
    return _statement(vendor, types, tuple(shape), when), params


# Every spend announces: its statement's text is made once per shape (the types, and which
# data keys name rows of the same statement), and only the values travel each time.
@functools.lru_cache(maxsize=512)
def _statement(vendor: str, types: frozenset[str], shape: tuple, when: str | None) -> str:
    rows = [_row(vendor, type, refs) for type, refs in shape]
    table = connection.ops.quote_name(Event._meta.db_table)
    # Only the table, registered type names and conditions are written in: values are params.
    condition = audience_condition(types)
    if when is not None:
        condition = f"({when}) AND ({condition})"
    return _INSERT.format(table=table, rows=" UNION ALL ".join(rows), condition=condition)


_INSERT = (
    "INSERT INTO {table} (uid, type, version, occurred_at, user_id, app_id, data, dispatch_error) "
    "SELECT event.uid, event.type, event.version, event.occurred_at, event.user_id, "
    "event.app_id, event.data, '' FROM ({rows}) AS event WHERE {condition} RETURNING id"
)
_ROW = {
    "postgresql": (
        "SELECT CAST(%s AS uuid) AS uid, CAST('{type}' AS varchar) AS type, "
        "CAST({version} AS smallint) AS version, CAST(%s AS timestamptz) AS occurred_at, "
        "CAST(%s AS bigint) AS user_id, CAST(%s AS bigint) AS app_id, {data} AS data"
    ),
    "sqlite": (
        "SELECT %s AS uid, '{type}' AS type, {version} AS version, %s AS occurred_at, "
        "%s AS user_id, %s AS app_id, {data} AS data"
    ),
}
_DATA_KEY = re.compile(r"^[a-z_]+$")
_JSON = DjangoJSONEncoder()


def _row(vendor: str, type: str, refs: tuple[tuple[str, str], ...]) -> str:
    """One candidate row's SELECT; its type and version are written in (a registered name:
    register_audience and event_type checked it), each of `refs` (a data key, the SQL of a
    row's id) is set into the data by the database."""
    expression = "CAST(%s AS jsonb)" if vendor == "postgresql" else "%s"
    for key, ref_sql in refs:
        if not _DATA_KEY.match(key):
            raise ValueError(f"unsafe data key {key!r}")
        if vendor == "postgresql":
            expression = f"jsonb_set({expression}, '{{{key}}}', to_jsonb({ref_sql}))"
        else:
            expression = f"json_set({expression}, '$.{key}', {ref_sql})"
    kind = event_type(type)
    return _ROW[vendor].format(type=kind.name, version=int(kind.version), data=expression)


def _values(announcement: Announcement, vendor: str) -> list:
    """One candidate row's parameters, in _ROW's order (before those of its refs). The uid is
    made here: PostgreSQL's gen_random_uuid() cost 12% of credits_bench's spends a second."""
    data = announcement.data
    if announcement.refs:  # the keys the database sets, present even if the caller left them
        data = dict(data)
        for key in announcement.refs:
            data.setdefault(key, None)
    occurred_at = announcement.occurred_at or timezone.now()
    values = [occurred_at, announcement.user_id, announcement.app_id, _JSON.encode(data)]
    if vendor != "postgresql":
        values[0] = connection.ops.adapt_datetimefield_value(occurred_at)
    return [uuid.uuid4().hex, *values]


def announce(
    type: str,
    *,
    data: dict,
    user_id: int | None = None,
    app_id: int | None = None,
    occurred_at: datetime | None = None,
) -> bool:
    """Write one event in the current transaction if anyone listens; True if it was written.
    For changes outside the ledger's postings (a purchase paid, a dispute opened)."""
    announcement = Announcement(type, data, user_id=user_id, app_id=app_id, occurred_at=occurred_at)
    return bool(announce_all([announcement]))


def announce_all(announcements: list[Announcement]) -> int:
    """`announce` for a batch (expiry warnings): one statement, each event written only if
    anyone listens; how many were written."""
    statement = insert_statement(announcements, resolve=_no_refs)
    if statement is None:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(*statement)
        written = len(cursor.fetchall())
    if written:
        kick_after_commit()
    return written


def _no_refs(ref):
    raise AssertionError("only a posting's announcements name rows written in its statement")


def kick_after_commit() -> None:
    transaction.on_commit(kick)


def _queues(task) -> bool:
    """Whether the task backend queues (a worker runs it later) rather than running it now;
    asked on every kick, so remembered per TASKS setting (tests change it)."""
    tasks = settings.TASKS
    if _backend_queues.get("tasks") is not tasks:
        _backend_queues.update(tasks=tasks, queues=task.get_backend().supports_defer)
    return _backend_queues["queues"]


_backend_queues: dict = {}

# The dispatches this process queued: at most one now and one trailing per window (below).
_kick_lock = threading.Lock()
_window: dict[str, float] = {"until": 0.0, "trailing": 0.0}


def kick() -> None:
    """Ask the worker to dispatch what is waiting.

    With a backend that runs tasks at once (development, tests) dispatching runs now. With a
    queue (the database backend and `db_worker`), each kick would be a row: a busy process
    queues one dispatch per EVENTS_DISPATCH_WINDOW seconds, and one more at the window's end
    for events written meanwhile, so no event waits longer than the window.
    """
    if not _queues(dispatch_events):
        dispatch_events.enqueue()
        return
    window = settings.EVENTS_DISPATCH_WINDOW
    now = time.monotonic()
    if now < _window["until"] and _window["trailing"] >= _window["until"]:
        return  # both of this window's dispatches are queued: every spend asks, so no lock
    with _kick_lock:
        if now >= _window["until"]:
            _window["until"] = now + window
            run_after = None
        elif _window["trailing"] < _window["until"]:
            _window["trailing"] = _window["until"]
            run_after = timezone.now() + timedelta(seconds=_window["until"] - now)
        else:
            return
    if run_after is None:
        dispatch_events.enqueue()
    else:
        dispatch_events.using(run_after=run_after).enqueue()
