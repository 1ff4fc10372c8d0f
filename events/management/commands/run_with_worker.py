"""`manage.py run_with_worker [address]`: the development server and the task worker together,
as `make run` starts them. Ctrl-C (or SIGTERM, or the server stopping for any reason) stops
both.

Each runs in a process group of its own (with their reloaders each is two processes), which
this command ends whole: a runserver or db_worker parent stopped alone would leave its child
serving or working.
"""

import os
import signal
import subprocess
import sys

from django.core.management.base import BaseCommand, CommandError
from django_tasks_db import DatabaseBackend

from events.dispatch import dispatch_events

GRACE_SECONDS = 10


class Stopping(Exception):
    """Ctrl-C or SIGTERM reached this command."""


def _stopping(signum, frame):
    raise Stopping


class Command(BaseCommand):
    help = "Run the development server and `db_worker` beside it; stopping one stops both."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        backend = dispatch_events.get_backend()
        if not isinstance(backend, DatabaseBackend):
            raise CommandError(
                "TASKS_BACKEND must be django_tasks_db.DatabaseBackend for a worker to have a "
                f"queue (it is {type(backend).__module__}.{type(backend).__name__})",
                returncode=2,
            )
        signal.signal(signal.SIGINT, _stopping)
        signal.signal(signal.SIGTERM, _stopping)
        # Our own manage.py, run again with fixed arguments (addrport: runserver checks it).
        manage = [sys.executable, sys.argv[0]]
        children = []
        try:
            children.append(_start([*manage, "db_worker"]))
            server = _start([*manage, "runserver", addrport])
            children.append(server)
            status = server.wait()
        except Stopping:
            status = 0
        finally:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            for child in reversed(children):
                _stop(child)
        if status:
            raise CommandError("the development server stopped", returncode=status)


def _start(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen(args, start_new_session=True)  # noqa: S603 (our own manage.py)


def _stop(child: subprocess.Popen) -> None:
    """SIGTERM to the child's whole group (both django-tasks' worker and runserver stop
    cleanly on it), then SIGKILL to what is left after the grace period."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(child.pid, sig)
        except ProcessLookupError:
            return
        try:
            child.wait(timeout=GRACE_SECONDS)
            return
        except subprocess.TimeoutExpired:
            continue
