"""The pages a long history's owner waits for: dashboard and history (server time and SQL
queries), and the CSV statement of the whole history (rows, bytes, time, peak Python memory)."""

import time
import tracemalloc
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Min
from django.http import HttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse
from django.utils import timezone

from credits.bench.history import best_ms
from credits.models import Entry, Wallet


@contextmanager
def page_settings() -> Iterator[None]:
    """Requests as the test client makes them: host "testserver", plain HTTP, and static files
    named without the manifest that `collectstatic` writes (the bench does not run it, so
    whitenoise's warning that STATIC_ROOT does not exist is noise here)."""
    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with (
        override_settings(
            ALLOWED_HOSTS=["testserver"], SECURE_SSL_REDIRECT=False, STORAGES=storages
        ),
        warnings.catch_warnings(),
    ):
        warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
        yield


def signed_in_client(wallet_id: int) -> Client:
    """A client signed in as the wallet's user; a failing view comes back as its 500 response
    (the bench prints it) instead of ending the command."""
    client = Client(raise_request_exception=False)
    client.force_login(Wallet.objects.select_related("user").get(pk=wallet_id).user)
    return client


@dataclass
class PageTiming:
    """One page: its best server time, the SQL queries it runs, and its status if not 200."""

    label: str
    ms: float
    queries: int
    problem: str

    def __str__(self) -> str:
        text = f"{self.label} {self.ms:.1f} ms / {self.queries} queries"
        return f"{text} ({self.problem})" if self.problem else text


def response_problem(response: HttpResponse) -> str:
    """Empty for a 200; else the status, and the exception behind a 500 when there is one."""
    if response.status_code == 200:
        return ""
    exc_info = getattr(response, "exc_info", None)
    if exc_info:
        return f"status {response.status_code}: {exc_info[0].__name__}: {exc_info[1]}"
    return f"status {response.status_code}"


def time_page(client: Client, label: str, url: str) -> PageTiming:
    """Best of HISTORY_RUNS requests, then one more to count queries: counting logs each query,
    which is kept out of the timed runs."""
    ms = best_ms(lambda: client.get(url))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return PageTiming(label, ms, len(queries.captured_queries), response_problem(response))


def first_visit(client: Client, label: str, url: str) -> PageTiming:
    """One request with nothing cached: what the first visit of a month costs (the dashboard
    then reads the months that ended, which later visits take from the cache)."""
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        began = time.perf_counter()
        response = client.get(url)
        ms = (time.perf_counter() - began) * 1000
    return PageTiming(label, ms, len(queries.captured_queries), response_problem(response))


def history_since(wallet_id: int) -> date:
    """The day of the wallet's first movement: built histories start in the past."""
    first = Entry.objects.filter(wallet_id=wallet_id).aggregate(first=Min("created_at"))["first"]
    return timezone.localtime(first).date() if first else timezone.localdate()


@dataclass
class CsvStream:
    """What one streamed statement gave: its lines and bytes, its time, and what went wrong."""

    rows: int
    size: int
    seconds: float
    problem: str


def stream_statement(client: Client, url: str) -> CsvStream:
    """Request the CSV and read it chunk by chunk as a browser would, keeping none of it."""
    rows = size = 0
    began = time.perf_counter()
    response = client.get(url)
    problem = response_problem(response)
    if not problem and not response.streaming:
        problem = "not a streamed response (the form was refused?)"
    if response.streaming:
        for chunk in response.streaming_content:
            size += len(chunk)
            rows += chunk.count(b"\n")
    response.close()
    return CsvStream(rows=rows, size=size, seconds=time.perf_counter() - began, problem=problem)


@dataclass
class CsvExport:
    """The statement streamed twice: plainly for its time, under tracemalloc for its peak."""

    plain: CsvStream
    traced: CsvStream
    peak: int

    def __str__(self) -> str:
        text = (
            f"{self.plain.rows} rows, {self.plain.size / 1e6:.1f} MB in "
            f"{self.plain.seconds:.1f} s ({self.traced.seconds:.1f} s under tracemalloc), "
            f"peak memory {self.peak / 1e6:.1f} MB"
        )
        problem = self.plain.problem or self.traced.problem
        return f"{text} ({problem})" if problem else text


def export_statement(client: Client, since: date, until: date) -> CsvExport:
    """Stream the CSV statement twice. The peak Python memory says whether the export holds the
    history at once; tracemalloc's bookkeeping slows every allocation (several times over, per
    row), so the time that counts is that of the run without it."""
    url = f"{reverse('credits:statement')}?since={since}&until={until}"
    plain = stream_statement(client, url)
    tracemalloc.start()
    try:
        traced = stream_statement(client, url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return CsvExport(plain=plain, traced=traced, peak=peak)
