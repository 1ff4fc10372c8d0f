"""A hold's `expires_at` may be NULL: a hold with no clock of its own (a job milestone's, placed
`until_settled`, or a disputed payment's) is settled only by a capture or a release, and the
expiry sweep skips it. Before, such holds got "now + 3650 days", which a milestone due later
would have outlived. jobs 0004 and billing 0009 move the open ones of before to NULL.

Reversible: going back gives every NULL expiry a date the old code would have given (ten years
after the hold was placed), so the column may be NOT NULL again.
"""

from datetime import timedelta

from django.db import migrations, models
from django.db.models import F

UNTIL_CLOSED_BEFORE = timedelta(days=3650)


def date_the_undated(apps, schema_editor):
    Hold = apps.get_model("credits", "Hold")
    Hold.objects.filter(expires_at__isnull=True).update(
        expires_at=F("created_at") + UNTIL_CLOSED_BEFORE
    )


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0008_empty_wallets_deletable_and_deactivation"),
    ]

    operations = [
        migrations.AlterField(
            model_name="hold",
            name="expires_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        # Runs backwards before the column is NOT NULL again.
        migrations.RunPython(migrations.RunPython.noop, date_the_undated, elidable=False),
    ]
