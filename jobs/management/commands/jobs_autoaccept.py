"""Apply the jobs' deadlines (jobs.services.clock): run from cron, every few minutes."""

from django.core.management.base import BaseCommand

from jobs.services import run_clock


class Command(BaseCommand):
    help = (
        "Accept every delivered milestone whose review window ended, remind clients 72 and 24 "
        "hours before, and cancel milestones left undelivered past their deadline (credits back "
        "to the client). Safe to run twice and beside live traffic."
    )

    def handle(self, *args, **options):
        report = run_clock()
        self.stdout.write(
            f"Accepted {len(report.accepted)} milestones, cancelled {len(report.lapsed)} "
            f"undelivered past their deadline, sent {report.reminded} reminders."
        )
        for milestone_id, reason in report.skipped.items():
            self.stderr.write(f"Milestone #{milestone_id} waits: {reason}")
