from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from notifications.channel import send
from notifications.models import SentNotice


class Command(BaseCommand):
    help = "Send again the e-mails whose send failed or never ran (sent_at empty)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than-minutes",
            type=int,
            default=5,
            help="Only notices waiting at least this long (default 5: leave running sends be).",
        )

    def handle(self, *args, older_than_minutes: int, **options):
        if older_than_minutes < 0:
            raise CommandError("--older-than-minutes must be 0 or more.")
        try:
            before = timezone.now() - timedelta(minutes=older_than_minutes)
        except OverflowError:  # more minutes than a date can go back
            raise CommandError(
                f"--older-than-minutes is too large (got {older_than_minutes}): no date "
                "is that long ago."
            ) from None
        waiting = SentNotice.objects.filter(
            sent_at__isnull=True, event__isnull=False, created_at__lte=before
        ).select_related("event", "user")
        sent = sum(send(notice) for notice in waiting.order_by("id"))
        self.stdout.write(f"{sent} notice(s) sent, {waiting.count()} still waiting.")
