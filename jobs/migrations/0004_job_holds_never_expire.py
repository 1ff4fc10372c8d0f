"""A job milestone's open hold no longer carries a made-up expiry ("placed + 3650 days", which a
milestone due later would have outlived): like the holds submit places now, it has none
(credits 0009) and only the milestone's settlement ends it.

Reversible: going back gives them the old code's date, ten years from now.
"""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone

UNTIL_CLOSED_BEFORE = timedelta(days=3650)


def open_job_holds(apps):
    Hold = apps.get_model("credits", "Hold")
    Milestone = apps.get_model("jobs", "Milestone")
    held = Milestone.objects.filter(hold__isnull=False).values("hold_id")
    return Hold.objects.filter(pk__in=held, status="open")


def undate(apps, schema_editor):
    open_job_holds(apps).update(expires_at=None)


def date_again(apps, schema_editor):
    open_job_holds(apps).filter(expires_at__isnull=True).update(
        expires_at=timezone.now() + UNTIL_CLOSED_BEFORE
    )


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0003_files_go_with_their_job"),
        ("credits", "0009_holds_until_settled_never_expire"),
    ]

    operations = [migrations.RunPython(undate, date_again)]
