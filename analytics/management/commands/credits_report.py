import csv
import json

from django.core.management.base import BaseCommand, CommandError

from analytics.flow import credits_flow
from analytics.periods import month


class Command(BaseCommand):
    help = (
        "Print a month's credits flow for finance, from the ledger's entries: opening balance, "
        "issued (by source), consumed (paid and promotional), expired, taken back, closing "
        "balance, with what was transferred and held. Exits 1 if the flow does not close."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="the month, YYYY-MM (UTC)")
        parser.add_argument(
            "--format",
            choices=["text", "csv", "json"],
            default="text",
            help="text (default), csv (a header row and one row) or json (one object)",
        )

    def handle(self, *args, **options):
        try:
            since, until = month(options["month"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        flow = credits_flow(since=since, until=until)
        figures = flow.figures()
        if options["format"] == "json":
            self.stdout.write(json.dumps(figures, indent=2))
        elif options["format"] == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(figures)
            writer.writerow(figures.values())
        else:
            width = max(len(name) for name in figures)
            for name, value in figures.items():
                self.stdout.write(f"{name.ljust(width)}  {value}")
        if not flow.closes:
            raise CommandError(
                f"The credits flow of {options['month']} does not close: opening "
                f"{flow.opening_balance} + flows = {flow.expected_closing_balance}, closing "
                f"{flow.closing_balance}. " + " ".join(flow.problems)
            )
