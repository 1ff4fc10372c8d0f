"""Tokens issued by DRF's authtoken (plaintext, one per user) become hashed ApiTokens.

Each keeps working for CARRIED_OVER_DAYS more (its first 8 digits are its prefix; only its
SHA-256 is kept): every backup taken before holds it in plaintext, so it must not live for ever;
its owner sees the expiry on the Account page and makes a new one. Then the
plaintext table is dropped and authtoken's migration records deleted, as if the app had never
been installed: `rest_framework.authtoken` is no longer in INSTALLED_APPS, and re-adding it
would build a fresh, empty table. Reversing this migration cannot bring the plaintext back, so
it leaves the carried-over tokens where they are (reversing 0002 then removes them).
"""

import hashlib
from datetime import UTC, datetime, timedelta

from django.db import migrations
from django.utils.dateparse import parse_datetime

AUTHTOKEN_TABLE = "authtoken_token"
CARRIED_OVER_NAME = "Earlier API token"
CARRIED_OVER_DAYS = 30


def carry_over_authtoken_rows(connection, api_token_model) -> int:
    """Hash every authtoken row into `api_token_model`, then drop the table; returns the count."""
    if AUTHTOKEN_TABLE not in connection.introspection.table_names():
        return 0
    table = connection.ops.quote_name(AUTHTOKEN_TABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id, created FROM {table}")  # noqa: S608
        rows = cursor.fetchall()
    expires_at = datetime.now(UTC) + timedelta(days=CARRIED_OVER_DAYS)
    for key, user_id, created in rows:
        api_token_model.objects.create(
            expires_at=expires_at,
            user_id=user_id,
            name=CARRIED_OVER_NAME,
            prefix=key[:8],
            secret_hash=hashlib.sha256(key.encode()).hexdigest(),
            created_at=_aware(created),
        )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {table}")
        cursor.execute("DELETE FROM django_migrations WHERE app = %s", ["authtoken"])
    return len(rows)


def _aware(value) -> datetime:
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None:
        return datetime.now(UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def forwards(apps, schema_editor):
    carry_over_authtoken_rows(schema_editor.connection, apps.get_model("accounts", "ApiToken"))


class Migration(migrations.Migration):
    dependencies = [("accounts", "0002_api_tokens_and_credential_stamp")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
