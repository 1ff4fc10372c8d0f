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

import json
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
    _conditions.clear()


def remove_audience(name: str) -> None:
    _audiences.pop(name, None)
    _conditions.clear()


# Conditions made so far, by set of types: every spend asks, and audiences rarely change.
_conditions: dict[frozenset[str], str | None] = {}


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
    announcements: list[Announcement], resolve: Callable[[object], tuple[str, list]]
) -> tuple[str, list] | None:
    """One INSERT … SELECT of `announcements`, each row kept only if an audience listens; or
    None when no audience could listen to any of them. Returns the inserted ids."""
    condition = audience_condition(frozenset(announcement.type for announcement in announcements))
    if condition is None:
        return None
    rows, params = [], []
    for announcement in announcements:
        sql, row_params = _row(announcement, resolve)
        rows.append(sql)
        params += row_params
    table = connection.ops.quote_name(Event._meta.db_table)
    # Only the table, registered type names and conditions are written in: values are params.
    sql = _INSERT.format(table=table, rows=" UNION ALL ".join(rows), condition=condition)
    return sql, params


_INSERT = (
    "INSERT INTO {table} (uid, type, version, occurred_at, user_id, app_id, data, dispatch_error) "
    "SELECT event.uid, event.type, event.version, event.occurred_at, event.user_id, "
    "event.app_id, event.data, '' FROM ({rows}) AS event WHERE {condition} RETURNING id"
)
_ROW = {
    "postgresql": (
        "SELECT CAST(%s AS uuid) AS uid, CAST(%s AS varchar) AS type, CAST(%s AS smallint) AS "
        "version, CAST(%s AS timestamptz) AS occurred_at, CAST(%s AS bigint) AS user_id, "
        "CAST(%s AS bigint) AS app_id, {data} AS data"
    ),
    "sqlite": (
        "SELECT %s AS uid, %s AS type, %s AS version, %s AS occurred_at, %s AS user_id, "
        "%s AS app_id, {data} AS data"
    ),
}


def _row(announcement: Announcement, resolve) -> tuple[str, list]:
    kind = event_type(announcement.type)
    occurred_at = announcement.occurred_at or timezone.now()
    params = [
        uuid.uuid4().hex,
        kind.name,
        kind.version,
        connection.ops.adapt_datetimefield_value(occurred_at),
        announcement.user_id,
        announcement.app_id,
    ]
    data = {key: value for key, value in announcement.data.items()}
    for key in announcement.refs:
        data.setdefault(key, None)
    params.append(json.dumps(data, cls=DjangoJSONEncoder))
    postgres = connection.vendor == "postgresql"
    expression = "CAST(%s AS jsonb)" if postgres else "%s"
    for key, ref in announcement.refs.items():
        if not re.match(r"^[a-z_]+$", key):
            raise ValueError(f"unsafe data key {key!r}")
        ref_sql, ref_params = resolve(ref)
        if postgres:
            expression = f"jsonb_set({expression}, '{{{key}}}', to_jsonb({ref_sql}))"
        else:
            expression = f"json_set({expression}, '$.{key}', {ref_sql})"
        params += ref_params
    return _ROW[connection.vendor].format(data=expression), params


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
    from events.dispatch import dispatch_events

    if not dispatch_events.get_backend().supports_defer:
        dispatch_events.enqueue()
        return
    window = settings.EVENTS_DISPATCH_WINDOW
    now = time.monotonic()
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
