from datetime import date

from django.core.management.base import BaseCommand, CommandError

from analytics.snapshots import BEGINNING, SETTLE, RebuildError, rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the analytics pages' daily snapshots (the deferred revenue roll-forward per "
        "currency and UTC day) from the ledger: from --from, or from where the snapshots stop "
        "being true, to the last whole day that ended an hour ago. Run it daily (after "
        f"midnight UTC plus {SETTLE}); the pages are right without it, only slower."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from",
            dest="since",
            metavar="DATE",
            help="rewrite from this UTC day, YYYY-MM-DD (default: where the snapshots stop "
            "being true)",
        )

    def handle(self, *args, **options):
        since = None
        if options["since"] is not None:
            try:
                since = date.fromisoformat(options["since"].strip())
            except ValueError as error:
                raise CommandError(
                    f"--from {options['since']!r} is not a day: give it as YYYY-MM-DD."
                ) from error
        try:
            rebuilt = rebuild(since=since)
        except RebuildError as error:
            raise CommandError(str(error)) from error
        build = rebuilt.build
        since = "the beginning" if build.since == BEGINNING else f"{build.since:%Y-%m-%d}"
        self.stdout.write(
            f"Snapshots cover {since} to {build.until:%Y-%m-%d} (UTC, the end "
            f"excluded): wrote {rebuilt.rows:,} rows from {rebuilt.start:%Y-%m-%d} in "
            f"{rebuilt.seconds:.1f} s."
        )
