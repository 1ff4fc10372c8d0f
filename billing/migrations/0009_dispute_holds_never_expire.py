"""A disputed payment's open hold no longer carries a made-up expiry ("placed + 3650 days"):
like the ones placed now, it has none (credits 0009) and only the dispute's outcome or staff
end it.

Reversible: going back gives them the old code's date, ten years from now.
"""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone

UNTIL_CLOSED_BEFORE = timedelta(days=3650)


def open_dispute_holds(apps):
    Hold = apps.get_model("credits", "Hold")
    Purchase = apps.get_model("billing", "Purchase")
    held = Purchase.objects.filter(dispute_hold__isnull=False).values("dispute_hold_id")
    return Hold.objects.filter(pk__in=held, status="open")


def undate(apps, schema_editor):
    open_dispute_holds(apps).update(expires_at=None)


def date_again(apps, schema_editor):
    open_dispute_holds(apps).filter(expires_at__isnull=True).update(
        expires_at=timezone.now() + UNTIL_CLOSED_BEFORE
    )


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0008_promotion_guardrails"),
        ("credits", "0009_holds_until_settled_never_expire"),
    ]

    operations = [migrations.RunPython(undate, date_again)]
