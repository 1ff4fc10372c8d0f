from django.db import migrations


def open_transfers_account(apps, schema_editor):
    Wallet = apps.get_model("credits", "Wallet")
    Wallet.objects.get_or_create(system_code="transfers", defaults={"kind": "system"})


class Migration(migrations.Migration):
    """The system account transfers pass through (credits.services.transfer)."""

    dependencies = [("credits", "0002_ledger_guards_and_system_wallets")]

    # Reversing keeps the account: wallets cannot be deleted, and entries may point at it.
    operations = [migrations.RunPython(open_transfers_account, migrations.RunPython.noop)]
