from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.text import counted
from events.retention import MIN_RETENTION, parse_age, prune


class Command(BaseCommand):
    help = (
        "Delete dispatched events older than the retention (e.g. 90d or 36h, at least "
        f"{MIN_RETENTION.days}d), in batches, with what the schema deletes with them (their "
        "webhook deliveries). An event not yet dispatched is never deleted. Safe beside live "
        "traffic and when run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", required=True, metavar="AGE", help="e.g. 90d (days) or 36h (hours)"
        )

    def handle(self, *args, older_than: str, **options):
        age = parse_age(older_than)
        if age is None or age < MIN_RETENTION:
            raise CommandError(
                f"--older-than must be an age such as 90d (days) or 36h (hours), at least "
                f"{MIN_RETENTION.days}d (got {older_than[:20]!r})",
                returncode=2,
            )
        before = timezone.now() - age
        deleted = prune(before=before)
        events = deleted.pop("events.Event", 0)
        others = "".join(f", {count} {label}" for label, count in sorted(deleted.items()) if count)
        self.stdout.write(
            f"Deleted {counted(events, 'dispatched event')} that occurred before "
            f"{before:%Y-%m-%d %H:%M} UTC{others}."
        )
