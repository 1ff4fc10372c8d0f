import csv
import json

from django.core.management.base import BaseCommand, CommandError

from analytics import money
from analytics.flow import credits_flow
from analytics.periods import months


class Command(BaseCommand):
    help = (
        "Print a month's figures for finance, from the ledger and the shop's payments: the "
        "credits flow (opening balance, issued by source, consumed paid and promotional, "
        "expired, taken back, closing balance, with what was transferred and held) and, with "
        "--currency, that currency's revenue and deferred revenue roll-forward. Exits 1 if the "
        "flow or the roll-forward does not close."
    )

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="the month, YYYY-MM (UTC)")
        parser.add_argument(
            "--currency",
            help="also its money: revenue and deferred revenue in this currency (e.g. usd); "
            "currencies are never summed together",
        )
        parser.add_argument(
            "--format",
            choices=["text", "csv", "json"],
            default="text",
            help="text (default), csv (a header row and one row) or json (one object)",
        )

    def handle(self, *args, **options):
        try:
            period = months(options["month"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        flow = credits_flow(since=period.since, until=period.until)
        figures = flow.figures()
        deferred = None
        if options["currency"]:
            currency = options["currency"].strip().lower()
            if currency not in money.currencies():
                raise CommandError(
                    f"No money is kept in {options['currency']!r}: the currencies are "
                    f"{', '.join(money.currencies())}."
                )
            deferred = money.deferred_revenue(period, currency)
            figures["currency"] = currency
            figures.update(money.revenue(period, currency).figures())
            figures.update(deferred.figures())
        self._print(figures, options["format"])
        if not flow.closes:
            raise CommandError(
                f"The credits flow of {options['month']} does not close: opening "
                f"{flow.opening_balance} + flows = {flow.expected_closing_balance}, closing "
                f"{flow.closing_balance}. " + " ".join(flow.problems)
            )
        if deferred is not None and not deferred.closes:
            expected = deferred.expected_closing
            raise CommandError(
                f"The deferred revenue of {options['month']} does not roll forward: opening "
                f"and movements come to {expected.money}, closing {deferred.closing.money} "
                f"{figures['currency'].upper()}."
            )

    def _print(self, figures: dict, form: str) -> None:
        if form == "json":
            self.stdout.write(json.dumps(figures, indent=2, default=str))
        elif form == "csv":
            writer = csv.writer(self.stdout, lineterminator="\n")
            writer.writerow(figures)
            writer.writerow(figures.values())
        else:
            width = max(len(name) for name in figures)
            for name, value in figures.items():
                self.stdout.write(f"{name.ljust(width)}  {value}")
