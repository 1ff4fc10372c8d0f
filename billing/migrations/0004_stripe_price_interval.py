from django.db import migrations, models


def record_synced_intervals(apps, schema_editor):
    """Prices already synced were made with the package's interval: say so, so that no plan looks
    out of sync (and gets a needless new Price) after this migration."""
    CreditPackage = apps.get_model("billing", "CreditPackage")
    CreditPackage.objects.exclude(stripe_price_id="").update(
        stripe_price_interval=models.F("interval")
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_subscription_ended_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="creditpackage",
            name="stripe_price_interval",
            field=models.CharField(blank=True, max_length=5),
        ),
        migrations.RunPython(record_synced_intervals, migrations.RunPython.noop),
    ]
