from django.db import migrations, models


def record_open_disputes(apps, schema_editor):
    """A dispute open before this field existed: its open hold names it (the hold's reference is
    the dispute's id), so the purchase keeps its credits held until the dispute is decided."""
    Purchase = apps.get_model("billing", "Purchase")
    Hold = apps.get_model("credits", "Hold")
    for purchase in Purchase.objects.exclude(dispute_hold=None):
        hold = Hold.objects.filter(pk=purchase.dispute_hold_id, status="open").first()
        if hold is not None and hold.reference not in purchase.decided_dispute_ids:
            purchase.open_dispute_ids = [hold.reference]
            purchase.save(update_fields=["open_dispute_ids"])


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0006_promotion_set_up_by"),
        ("credits", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="purchase",
            name="open_dispute_ids",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text="The Stripe disputes of this payment opened and not decided yet: while "
                "there is one, the purchase's credits are held.",
            ),
        ),
        migrations.AlterField(
            model_name="purchase",
            name="dispute_outcome",
            field=models.CharField(
                blank=True,
                help_text="How Stripe decided the payment's disputes: lost if any was lost, else "
                "won if any was won, else warning_closed for inquiries only; empty until one is "
                "decided.",
                max_length=20,
            ),
        ),
        migrations.RunPython(record_open_disputes, migrations.RunPython.noop),
    ]
