"""Who listens for e-mail: one audience per kind, a SQL condition over the candidate event row
(events.outbox), so an event is written only when someone will get its e-mail."""

from django.contrib.auth import get_user_model
from django.db import connection

from events.outbox import Audience, register_audience
from notifications.kinds import ALWAYS_SENT, KIND_FOR_EVENT, STEP_TYPES, Kind
from notifications.models import NotificationOptOut


def data_field(name: str) -> str:
    """SQL for the text of `event.data`'s top-level key `name` (jsonb on PostgreSQL, text on
    SQLite)."""
    if connection.vendor == "postgresql":
        return f"(event.data ->> '{name}')"
    return f"json_extract(event.data, '$.{name}')"


def wants(kind: str, user_column: str = "event.user_id") -> str:
    """True when the user exists, is active, has an address and has not turned `kind` off."""
    # Only table names and our own kind names are written in (audiences take no params).
    quote = connection.ops.quote_name
    users = quote(get_user_model()._meta.db_table)
    condition = (
        f"{user_column} IN (SELECT wanted.id FROM {users} wanted "  # noqa: S608 (see above)
        "WHERE wanted.is_active AND wanted.email <> ''"
    )
    if kind not in ALWAYS_SENT:
        opt_outs = quote(NotificationOptOut._meta.db_table)
        condition += (
            f" AND NOT EXISTS (SELECT 1 FROM {opt_outs} turned_off "  # noqa: S608
            f"WHERE turned_off.user_id = wanted.id AND turned_off.kind = '{kind}')"
        )
    return condition + ")"


def register() -> None:
    for kind in Kind:
        types = {name for name, of in KIND_FOR_EVENT.items() if of == kind}
        types -= {"credits.granted"} | STEP_TYPES
        if types:
            register_audience(
                Audience(f"notifications: {kind}", wants(kind), types=frozenset(types))
            )
    register_audience(
        Audience(
            "notifications: staff grants",
            f"{data_field('source')} = 'admin' AND {wants(Kind.CREDITS_RECEIVED)}",
            types=frozenset({"credits.granted"}),
        )
    )
    # A dispute's or job's step mails the user it is about, or the team it names (each team
    # member's own choice is checked when the e-mail is made: notifications.channel).
    for kind in (Kind.DISPUTES, Kind.JOBS):
        types = {name for name in STEP_TYPES if KIND_FOR_EVENT[name] == kind}
        register_audience(
            Audience(
                f"notifications: {kind} steps",
                f"{data_field('notify')} = 'team' OR {wants(kind)}",
                types=frozenset(types),
            )
        )
