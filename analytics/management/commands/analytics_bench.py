"""`manage.py analytics_bench`: how fast every analytics page is on a large ledger (PostgreSQL).

Builds, in a database of its own (created, migrated and dropped as Django's test runner does),
USERS users' MONTHS months of buying, spending and expiring credits with set-based SQL
(analytics.bench: six entries per user and month, so the defaults make 1.44 million),
then rebuilds the daily snapshots (analytics_rebuild, timed) and requests every analytics page
of the admin as a superuser for the last month built and for all of them, and prints each
page's server time (best of three, in process) and queries against
the targets: a month's page under 1 s and 20 queries, the whole range's revenue and deferred
revenue pages under 2 s.
"""

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils import timezone

from analytics import bench, money
from analytics.flow import credits_flow
from analytics.periods import months
from analytics.snapshots import rebuild
from credits.bench.scratch import scratch_database

MONTH_MS, MONTH_QUERIES, RANGE_MS = 1000, 20, 2000
RANGE_PAGES = ("revenue", "deferredrevenue")


class Command(BaseCommand):
    help = __doc__.split("\n\n")[1].replace("\n", " ")

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=10_000, help="users (default 10,000)")
        parser.add_argument(
            "--months", type=int, default=24, help="months of history, ending last month (24)"
        )

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("analytics_bench measures PostgreSQL: set DATABASE_URL to one.")
        if options["users"] < 1 or not 1 <= options["months"] <= 120:
            raise CommandError("--users must be at least 1 and --months from 1 to 120.")
        with scratch_database("analytics_bench"):
            self._run(options["users"], options["months"])

    def _run(self, users: int, count: int) -> None:
        this_month = months(f"{timezone.now():%Y-%m}").since
        first = months(f"{timezone.now():%Y-%m}").since
        for _ in range(count):
            first = months(f"{first:%Y-%m}").previous.since
        built = bench.build(users=users, months=count, first_month=first)
        self.stdout.write(
            f"Built {built.users:,} users x {built.months} months: {built.entries:,} entries "
            f"in {built.seconds:.1f} s ({first:%Y-%m} to the end of last month)."
        )
        rebuilt = rebuild()
        self.stdout.write(
            f"analytics_rebuild: {rebuilt.rows:,} snapshot rows in {rebuilt.seconds:.1f} s "
            f"(the pages read them; run daily)."
        )
        last = months(f"{this_month:%Y-%m}").previous
        whole = f"{first:%Y-%m}", f"{last.since:%Y-%m}"
        flow = credits_flow(since=last.since, until=last.until)
        deferred = money.deferred_revenue(last, "usd")
        self.stdout.write(
            f"Sanity, {last.label()}: credits flow closes {flow.closes}, deferred revenue "
            f"closes {deferred.closes} (issued {flow.issued:,}, expired {flow.expired:,})."
        )
        client = bench.analyst_client()
        self.stdout.write(
            f"\n{'page':<22}{'month ms':>10}{'queries':>9}{'all ms':>10}{'queries':>9}  targets"
        )
        for name in bench.pages():
            one = bench.time_page(client, name, {"from": whole[1], "currency": "usd"})
            every = bench.time_page(client, name, {"from": whole[0], "to": whole[1]})
            met = one.ms < MONTH_MS and one.queries < MONTH_QUERIES and one.status == 200
            if one.page in RANGE_PAGES:
                met = met and every.ms < RANGE_MS
            self.stdout.write(
                f"{one.page:<22}{one.ms:>10.0f}{one.queries:>9}{every.ms:>10.0f}"
                f"{every.queries:>9}  {'met' if met else 'MISSED'}"
                + ("" if one.status == every.status == 200 else f" (HTTP {one.status})")
            )
        report_ms = bench.best_ms(
            lambda: call_command(
                "credits_report", "--month", whole[1], "--currency", "usd", stdout=_Null()
            )
        )
        self.stdout.write(f"\ncredits_report --month {whole[1]} --currency usd: {report_ms:.0f} ms")


class _Null:
    def write(self, text: str) -> None:
        pass

    def flush(self) -> None:
        pass
