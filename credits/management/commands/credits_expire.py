from django.core.management.base import BaseCommand

from core.text import counted
from credits import services


class Command(BaseCommand):
    help = (
        "Warn the owners of credits expiring within 7 days and within 1 day (credits.expiring, "
        "once per grant and stage), then expire the credits of every grant past its expiry "
        "(each in an expiry transaction; credits held by open holds wait until the hold "
        "closes). Safe beside live traffic and when run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would expire; change nothing."
        )

    def handle(self, *args, dry_run: bool = False, **options):
        if dry_run:
            due = list(services.due_grants())
            for grant in due:
                self.stdout.write(
                    f"grant #{grant.pk} (wallet #{grant.wallet_id}): "
                    f"{counted(grant.remaining, 'credit')}, "
                    f"expired {grant.expires_at:%Y-%m-%d %H:%M} UTC"
                )
            total = sum(grant.remaining for grant in due)
            self.stdout.write(
                f"Would expire {counted(total, 'credit')} from {counted(len(due), 'grant')}."
            )
            return
        warnings = services.send_expiry_warnings()
        self.stdout.write(
            f"Warned of {counted(warnings.total, 'grant')} expiring soon "
            f"(7 days: {warnings.by_days[7]}, 1 day: {warnings.by_days[1]})."
        )
        run = services.expire_due_grants()
        self.stdout.write(
            f"Expired {counted(run.credits, 'credit')} from {counted(run.grants, 'grant')}."
        )
