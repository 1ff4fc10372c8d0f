"""Counting partner calls: one statement per call, whatever the outcome.

Each call an app makes (with a key or a user's token) adds one to its day's AppUsageDay, and
one to the class of its error if it failed; a call for a user also records (app, day, user) in
AppUserDay, so the day's active users are a count of rows. A counter read and written back
would lose calls that race; an upsert (INSERT … ON CONFLICT DO UPDATE) adds in the database.
On PostgreSQL the two rows are written by one statement (a data-modifying WITH); SQLite, the
development database, has no such statement and takes two.

`client_errors` counts every 4xx answer, 429 included; `rate_limited` the 429s among them.
"""

from contextlib import nullcontext
from datetime import date

from django.db import connection, transaction
from django.utils import timezone


def count_call(*, app_id: int, status: int, user_id: int | None = None, day: date | None = None):
    """Add one call of `app_id` (for `user_id`, if it acted for one) answered `status`."""
    day = day or timezone.now().date()
    usage = [app_id, day, int(400 <= status < 500), int(status >= 500), int(status == 429)]
    user_day = [app_id, day, user_id]
    if user_id is not None and connection.vendor == "postgresql":
        both = f"WITH usage AS ({_UPSERT_USAGE} RETURNING 1) {_INSERT_USER_DAY}"
        statements = [(both, usage + user_day)]
    else:
        statements = [(_UPSERT_USAGE, usage)]
        if user_id is not None:
            statements.append((_INSERT_USER_DAY, user_day))
    # Inside a caller's transaction (tests, an atomic view) a failure must not break it.
    with (
        transaction.atomic() if connection.in_atomic_block else nullcontext(),
        connection.cursor() as cursor,
    ):
        for sql, params in statements:
            cursor.execute(sql, params)


# Both databases accept the same text: double-quoted names, ON CONFLICT on the unique columns
# (the models' constraints; tests/integrations/test_usage_and_limits.py runs it on both).
_UPSERT_USAGE = (
    'INSERT INTO "integrations_appusageday" '
    '("app_id", "day", "requests", "client_errors", "server_errors", "rate_limited") '
    "VALUES (%s, %s, 1, %s, %s, %s) "
    'ON CONFLICT ("app_id", "day") DO UPDATE SET '
    '"requests" = "integrations_appusageday"."requests" + 1, '
    '"client_errors" = "integrations_appusageday"."client_errors" + EXCLUDED."client_errors", '
    '"server_errors" = "integrations_appusageday"."server_errors" + EXCLUDED."server_errors", '
    '"rate_limited" = "integrations_appusageday"."rate_limited" + EXCLUDED."rate_limited"'
)
_INSERT_USER_DAY = (
    'INSERT INTO "integrations_appuserday" ("app_id", "day", "user_id") VALUES (%s, %s, %s) '
    'ON CONFLICT ("app_id", "day", "user_id") DO NOTHING'
)
