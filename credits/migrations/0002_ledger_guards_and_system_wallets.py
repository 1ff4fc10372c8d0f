"""The database's own defence of the ledger, and the accounts every posting needs.

- Transactions, entries and allocations are append-only: triggers refuse UPDATE and DELETE on
  PostgreSQL and SQLite alike, whatever code (or person at a SQL prompt) tries. Wallets can be
  updated (their cached balances) but never deleted: their history must stay.
- The system accounts exist from the start, and every existing user gets a wallet.
"""

from django.db import migrations

APPEND_ONLY_TABLES = ["credits_credittransaction", "credits_entry", "credits_allocation"]
UNDELETABLE_TABLES = ["credits_wallet"]
SYSTEM_WALLETS = [
    "purchases",
    "subscriptions",
    "promotions",
    "adjustments",
    "consumption",
    "expired",
    "refunds",
]

POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION credits_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'credits: % rows are append-only (% refused)', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
"""


def _guards():
    """(table, operations, trigger name) for every guard."""
    for table in APPEND_ONLY_TABLES:
        yield table, ("UPDATE", "DELETE")
    for table in UNDELETABLE_TABLES:
        yield table, ("DELETE",)


def add_guards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        # params=None: the function body's % placeholders are for RAISE, not for the driver.
        schema_editor.execute(POSTGRES_FUNCTION, params=None)
        for table, operations in _guards():
            schema_editor.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE {' OR '.join(operations)} ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION credits_reject_change()"
            )
    elif vendor == "sqlite":
        for table, operations in _guards():
            for operation in operations:
                schema_editor.execute(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'credits: {table} rows are append-only "
                    f"({operation} refused)'); END"
                )
    else:
        raise NotImplementedError(f"no append-only triggers written for {vendor}")


def remove_guards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for table, operations in _guards():
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
        else:
            for operation in operations:
                schema_editor.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation.lower()}")
    if vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS credits_reject_change()")


def open_accounts(apps, schema_editor):
    Wallet = apps.get_model("credits", "Wallet")
    User = apps.get_model("accounts", "User")
    for code in SYSTEM_WALLETS:
        Wallet.objects.get_or_create(system_code=code, defaults={"kind": "system"})
    for user in User.objects.filter(wallet__isnull=True):
        Wallet.objects.create(kind="user", user=user)


class Migration(migrations.Migration):
    dependencies = [("credits", "0001_initial"), ("accounts", "0001_initial")]

    operations = [
        migrations.RunPython(add_guards, remove_guards),
        # Reversing keeps the accounts: the rows are harmless and removing them could orphan entries.
        migrations.RunPython(open_accounts, migrations.RunPython.noop),
    ]
