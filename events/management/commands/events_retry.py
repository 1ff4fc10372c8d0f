from django.core.management.base import BaseCommand

from core.text import counted
from events.dispatch import retry_failed, sweep


class Command(BaseCommand):
    help = (
        "Sweep now, as the worker does every EVENTS_SWEEP_SECONDS: dispatch every waiting "
        "event and run every app's sweep hook (webhook deliveries due). With --failed, first "
        "give the events a channel failed on another chance. Safe beside a running worker."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--failed",
            action="store_true",
            help="Clear the dispatch errors of waiting events so they are dispatched again.",
        )

    def handle(self, *args, failed: bool = False, **options):
        if failed:
            cleared = retry_failed()
            self.stdout.write(f"Cleared the dispatch error of {counted(cleared, 'event')}.")
        swept = sweep()
        line = (
            f"Dispatched {counted(swept.dispatched, 'event')}; "
            f"ran {counted(swept.hooks_run, 'sweep hook')}."
        )
        if swept.hooks_failed:
            line += f" {counted(swept.hooks_failed, 'sweep hook')} failed (see the log)."
        self.stdout.write(line)
