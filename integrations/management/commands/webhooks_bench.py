"""`manage.py webhooks_bench`: how many webhook deliveries per second the worker sustains.

In a database of its own (created, migrated and dropped, as credits_bench does): an approved
partner app with one endpoint at a local receiver (a threaded HTTP server in this process that
answers 204), N `credits.spent` events of the app dispatched into N deliveries queued for the
worker, then W real `manage.py db_worker --batch` processes that attempt them, timed from their
start to the last one's exit. Every delivery is signed, SSRF-checked and logged as in
production; only the receiver is local (allow-listed for the run).
"""

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Avg
from django.test.utils import override_settings

from credits.bench.scratch import scratch_database
from events.dispatch import dispatch_pending
from events.outbox import announce
from integrations.bench import approved_app
from integrations.models import WebhookAttempt, WebhookDelivery
from integrations.services import webhooks

QUEUED_TASKS = {"default": {"BACKEND": "django_tasks_db.backend.DatabaseBackend"}}


class Receiver(BaseHTTPRequestHandler):
    received = 0
    lock = threading.Lock()

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with Receiver.lock:
            Receiver.received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):  # quiet
        pass


class Command(BaseCommand):
    help = (
        "Time webhook deliveries to a local receiver: N events of one partner app, attempted by "
        "W db_worker processes; prints deliveries per second. PostgreSQL only; works in a "
        "database of its own."
    )

    def add_arguments(self, parser):
        parser.add_argument("--events", type=int, default=2000, help="events (default 2000)")
        parser.add_argument("--workers", type=int, default=1, help="db_worker processes (1)")

    def handle(self, *args, events: int, workers: int, **options):
        if connection.vendor != "postgresql":
            raise CommandError("webhooks_bench needs PostgreSQL: set DATABASE_URL.")
        if events < 1 or workers < 1:
            raise CommandError("--events and --workers must be at least 1.")
        server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        host = f"127.0.0.1:{server.server_port}"
        try:
            with (
                override_settings(TASKS=QUEUED_TASKS, INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS=[host]),
                scratch_database("webhooks") as name,
            ):
                self.stdout.write(
                    f"webhooks_bench: {events} events, {workers} worker(s), receiver {host}, "
                    f"database {name} (dropped after)"
                )
                queue_deliveries(f"http://{host}/hooks", events)
                took = run_workers(workers, host)
                delivered = WebhookDelivery.objects.filter(
                    status=WebhookDelivery.Status.DELIVERED
                ).count()
                latency = WebhookAttempt.objects.aggregate(avg=Avg("latency_ms"))["avg"] or 0
                self.stdout.write(
                    f"delivered {delivered} of {events} in {took:.2f} s: "
                    f"{delivered / took:.0f} deliveries/s (receiver got {Receiver.received}; "
                    f"mean attempt latency {latency:.1f} ms)"
                )
                connection.close()  # the scratch database is dropped next
        finally:
            server.shutdown()


def queue_deliveries(url: str, count: int) -> None:
    app = approved_app()
    webhooks.create(app=app, url=url, event_types=["credits.spent"])
    with transaction.atomic():
        for number in range(count):
            announce("credits.spent", data={"amount": 1, "number": number}, app_id=app.pk)
    dispatch_pending()  # one delivery per event, each queued for the worker


def run_workers(count: int, host: str) -> float:
    environment = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "TASKS_BACKEND": QUEUED_TASKS["default"]["BACKEND"],
        "INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS": host,
    }
    command = [sys.executable, str(settings.BASE_DIR / "manage.py"), "db_worker", "--batch"]
    command += ["--no-startup-delay", "--no-reload", "--verbosity", "0"]
    started = time.perf_counter()
    processes = [
        subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL)  # noqa: S603
        for _ in range(count)
    ]
    for process in processes:
        if process.wait() != 0:
            raise CommandError(f"a db_worker exited with {process.returncode}")
    return time.perf_counter() - started


def database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db.get("USER") or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}@{db.get('HOST') or '127.0.0.1'}{port}/{db['NAME']}"
