"""The table the default cache uses with DEBUG off (CACHE_URL=dbcache://creditdesk_cache), so
`migrate` is all a new installation needs for rate limits shared by every process."""

from django.core.management import call_command
from django.db import migrations

# config.settings.DATABASE_CACHE_TABLE names the same table.
CACHE_TABLE = "creditdesk_cache"


def create_cache_table(apps, schema_editor):
    # Django's own command: the columns the database cache backend expects; no-op if present.
    call_command(
        "createcachetable", CACHE_TABLE, database=schema_editor.connection.alias, verbosity=0
    )


def drop_cache_table(apps, schema_editor):
    if CACHE_TABLE in schema_editor.connection.introspection.table_names():
        schema_editor.execute(f"DROP TABLE {schema_editor.quote_name(CACHE_TABLE)}")


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_carry_over_authtoken_tokens")]

    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
