"""Apply the disputes' deadlines (disputes.services.run_deadlines): run from cron, beside
jobs_autoaccept, every few minutes."""

from django.core.management.base import BaseCommand

from disputes.services import run_deadlines


class Command(BaseCommand):
    help = (
        "Remind clients 72 and 24 hours before a milestone dispute waiting on their answer is "
        "closed, and close those left unanswered past DISPUTES_AWAITING_USER_DAYS (the milestone "
        "accepted in full). Safe to run twice and beside live traffic."
    )

    def handle(self, *args, **options):
        report = run_deadlines()
        self.stdout.write(
            f"Closed {len(report.closed)} unanswered disputes, sent {report.reminded} reminders."
        )
        for dispute_id, reason in report.skipped.items():
            self.stderr.write(f"Dispute #{dispute_id} waits: {reason}")
