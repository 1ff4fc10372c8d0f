import re
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.text import counted
from credits.services.retention import DEFAULT_RETENTION, MIN_RETENTION, prune

AGE = re.compile(r"([0-9]{1,5})([dh])")


def retention(text: str) -> timedelta:
    """'30d' or '36h', at least MIN_RETENTION; a CommandError (one line) otherwise."""
    found = AGE.fullmatch(text.strip())
    age = None
    if found:
        number, unit = int(found[1]), found[2]
        age = timedelta(days=number) if unit == "d" else timedelta(hours=number)
    if age is None or age < MIN_RETENTION:
        raise CommandError(
            f"--older-than must be an age such as 30d (days) or 36h (hours), at least "
            f"{MIN_RETENTION.days}d (got {text[:20]!r})"
        )
    return age


class Command(BaseCommand):
    help = (
        "Forget idempotency keys first used longer ago than the retention (default 30d): let go "
        "of the answers the API kept and delete the records of requests that moved nothing. A "
        "key whose request moved credits keeps its record, so a retry with it is refused (409) "
        "and never spends again. Safe beside live traffic and when run twice."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            default=f"{DEFAULT_RETENTION.days}d",
            metavar="AGE",
            help=f"e.g. 30d or 36h; at least {MIN_RETENTION.days}d (default "
            f"{DEFAULT_RETENTION.days}d)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def handle(self, *args, older_than: str, dry_run: bool = False, **options):
        before = timezone.now() - retention(older_than)
        let_go, deleted = prune(before=before, dry_run=dry_run)
        would = "Would let go" if dry_run else "Let go"
        self.stdout.write(
            f"{would} of {counted(let_go, 'kept API answer')} and "
            f"{'would delete' if dry_run else 'deleted'} {counted(deleted, 'record')} of "
            f"requests that moved nothing, first made before {before:%Y-%m-%d %H:%M} UTC."
        )
