"""A user wallet that never had an entry may be deleted (with its user, who has no history);
one with entries, and every system account, still may not: the ledger is append-only, and
entries have no database foreign key to their wallet, so this trigger is what keeps a wallet with
history. Staff deactivate an account with history instead (a new audit kind).
"""

from django.db import migrations, models

POSTGRES_GUARD = """
CREATE OR REPLACE FUNCTION credits_wallet_delete_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.kind <> 'user' OR EXISTS (SELECT 1 FROM credits_entry WHERE wallet_id = OLD.id) THEN
        RAISE EXCEPTION 'credits: a wallet with history cannot be deleted (wallet %)', OLD.id
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN OLD;
END
$$;
"""
SQLITE_GUARD = (
    "CREATE TRIGGER credits_wallet_no_delete BEFORE DELETE ON credits_wallet "
    "WHEN OLD.kind <> 'user' OR EXISTS (SELECT 1 FROM credits_entry WHERE wallet_id = OLD.id) "
    "BEGIN SELECT RAISE(ABORT, 'credits: a wallet with history cannot be deleted'); END"
)
SQLITE_ANY = (
    "CREATE TRIGGER credits_wallet_no_delete BEFORE DELETE ON credits_wallet "
    "BEGIN SELECT RAISE(ABORT, 'credits: credits_wallet rows are append-only (DELETE refused)'); "
    "END"
)


def guard_only_wallets_with_history(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_GUARD, params=None)
        schema_editor.execute("DROP TRIGGER IF EXISTS credits_wallet_append_only ON credits_wallet")
        schema_editor.execute(
            "CREATE TRIGGER credits_wallet_append_only BEFORE DELETE ON credits_wallet "
            "FOR EACH ROW EXECUTE FUNCTION credits_wallet_delete_guard()"
        )
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS credits_wallet_no_delete")
        schema_editor.execute(SQLITE_GUARD)


def guard_every_wallet(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS credits_wallet_append_only ON credits_wallet")
        schema_editor.execute(
            "CREATE TRIGGER credits_wallet_append_only BEFORE DELETE ON credits_wallet "
            "FOR EACH ROW EXECUTE FUNCTION credits_reject_change()"
        )
        schema_editor.execute("DROP FUNCTION IF EXISTS credits_wallet_delete_guard()")
    else:
        schema_editor.execute("DROP TRIGGER IF EXISTS credits_wallet_no_delete")
        schema_editor.execute(SQLITE_ANY)


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0007_hold_metadata"),
    ]

    operations = [
        migrations.AlterField(
            model_name="staffaction",
            name="kind",
            field=models.CharField(
                choices=[
                    ("grant", "Granted credits"),
                    ("deduct", "Deducted credits"),
                    ("approval_requested", "Asked a colleague to approve"),
                    ("approved", "Approved a colleague's request"),
                    ("refused", "Refused a colleague's request"),
                    ("freeze", "Froze a wallet"),
                    ("unfreeze", "Unfroze a wallet"),
                    ("suspend", "Suspended a wallet"),
                    ("reactivate", "Reactivated a wallet"),
                    ("dispute_refund", "Resolved a dispute with a refund"),
                    ("dispute_rejected", "Rejected a dispute"),
                    ("purchase_refund", "Refunded a purchase through Stripe"),
                    ("dispute_assigned", "Assigned a dispute"),
                    ("information_requested", "Asked a user for information"),
                    ("promotion_changed", "Set up or changed a promo code"),
                    ("package_changed", "Set up or changed a credit package"),
                    ("deactivate", "Deactivated an account"),
                ],
                max_length=32,
            ),
        ),
        migrations.RunPython(guard_only_wallets_with_history, guard_every_wallet),
    ]
