from django.core.management.base import BaseCommand

from core.text import counted
from credits import services


class Command(BaseCommand):
    help = (
        "Release every open hold past its expiry; its credits return to their grants. "
        "Safe beside live traffic and when run twice."
    )

    def handle(self, *args, **options):
        released = services.release_expired_holds()
        total = sum(txn.amount for txn in released)
        holds = counted(len(released), "expired hold")
        self.stdout.write(f"Released {counted(total, 'credit')} from {holds}.")
