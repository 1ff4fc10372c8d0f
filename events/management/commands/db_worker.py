"""`manage.py db_worker`: django-tasks' database worker, which also sweeps the outbox.

It replaces django_tasks_db's command of the same name (events is listed before that app in
INSTALLED_APPS, and Django runs the first app's command). Besides running queued tasks it
sweeps (events.dispatch.sweep): once on start, before any task, and then every
EVENTS_SWEEP_SECONDS in a thread of its own. So an event whose kick was lost (a crash after
its commit) is dispatched when the worker starts again, and work that waits for a time rather
than a kick (webhook retries) is done without anyone asking.
"""

import logging
import os
import threading

from django.conf import settings
from django.db import connections
from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from events.dispatch import Swept, sweep

logger = logging.getLogger("events.worker")


def sweep_and_log() -> Swept:
    swept = sweep()
    if swept.dispatched or swept.hooks_failed:
        logger.info(
            "sweep: %d events dispatched, %d hooks ran, %d failed",
            swept.dispatched,
            swept.hooks_run,
            swept.hooks_failed,
        )
    return swept


class Sweeper(threading.Thread):
    """Sweeps every `interval` seconds until stopped (a daemon: it ends with the worker)."""

    def __init__(self, interval: float):
        super().__init__(name="events-sweeper", daemon=True)
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.interval):
            try:
                sweep_and_log()
            except Exception:  # the database went away: the next round tries again
                logger.exception("sweep failed")
            finally:
                # This thread's own connections: never left open across the wait.
                connections.close_all()

    def stop(self) -> None:
        self.stopped.set()


class Command(db_worker.Command):
    help = (
        "Run the background worker: queued tasks (the outbox's dispatch, e-mails, webhook "
        "deliveries), and the outbox's sweep on start and every EVENTS_SWEEP_SECONDS."
    )

    def handle(self, *args, **options):
        # With --reload the first process only watches files and restarts a child that does
        # the work (DJANGO_AUTORELOAD_ENV set): only that one sweeps.
        reloading = options["reload"] and not options["batch"]
        if not reloading or os.environ.get(DJANGO_AUTORELOAD_ENV) == "true":
            sweep_and_log()
            if not options["batch"]:
                Sweeper(settings.EVENTS_SWEEP_SECONDS).start()
        super().handle(*args, **options)
