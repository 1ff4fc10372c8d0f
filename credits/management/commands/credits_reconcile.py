import time

from django.core.management.base import BaseCommand, CommandError

from core.text import counted
from credits.reconciliation import reconcile


class Command(BaseCommand):
    help = (
        "Prove the ledger adds up: transactions sum to zero; each wallet's balance equals its "
        "entries and its grant remainders plus held; held equals its open holds; running "
        "balances and remainders are sound. Prints each discrepancy; exits 1 if there is any."
    )

    def handle(self, *args, **options):
        started = time.monotonic()
        report = reconcile()
        seconds = time.monotonic() - started
        for problem in report.problems:
            self.stdout.write(problem)
        summary = (
            f"{counted(report.checks, 'check')} over {counted(report.wallets, 'wallet')} and "
            f"{counted(report.entries, 'entry', 'entries')} in {seconds:.2f} s: "
        )
        if report.clean:
            self.stdout.write(summary + "the ledger is consistent.")
            return
        found = counted(len(report.problems), "discrepancy", "discrepancies")
        raise CommandError(summary + f"{found}.")
