"""`credits_bench --http`: the API as a client meets it, served by gunicorn on a loopback port.

Users with funded wallets and API tokens are made in the bench's database; gunicorn (its own
processes, production settings) serves it; N client processes drive one endpoint at a time for T
seconds each: `GET /healthz` (what serving a request costs at all), `GET /api/v1/wallet` and
`POST /api/v1/spends`. Requests a second, p50 and p99 are printed, and each API endpoint's
requests a second as a share of /healthz's (issue 18's targets: spends 0.35, wallet 0.6).
"""

import http.client
import json
import multiprocessing
import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction

from accounts.services import create_api_token
from credits import services
from credits.bench.spends import ACTOR, FUNDING, RunResult, format_ms

GUNICORN = Path(sys.executable).with_name("gunicorn")
USERS = 100  # the clients' users, round robin: the per-user throttle is lifted anyway


class HttpBenchFailed(Exception):
    """gunicorn did not start, or every request of a run failed."""


@dataclass(frozen=True)
class Target:
    label: str
    method: str
    path: str
    expected: int
    body: Callable[[], bytes | None] = lambda: None
    headers: Callable[[], dict[str, str]] = dict


def bench_http(write, *, clients: int, seconds: float, workers: int) -> None:
    """Make the users, serve, drive the three endpoints, print; gunicorn is stopped after."""
    tokens = funded_users_with_tokens(USERS, name="http")
    port = _free_port()
    server = _serve(port, workers)
    try:
        _wait_until_up(port, server)
        write(
            f"http: gunicorn with {workers} workers on 127.0.0.1:{port}, {clients} client "
            f"threads, {seconds:g} s per endpoint, {len(tokens)} users"
        )
        write(
            f"{'endpoint':<26}{'requests':>9}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
        )
        results = [
            _drive(port, target, clients=clients, seconds=seconds, tokens=tokens, write=write)
            for target in _targets()
        ]
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
    health, wallet, spends = results
    write(
        f"http ratios to /healthz: wallet {wallet.ops_per_second / health.ops_per_second:.2f}, "
        f"spends {spends.ops_per_second / health.ops_per_second:.2f}"
    )


def _targets() -> list[Target]:
    def spend_body() -> bytes:
        return json.dumps({"amount": 1, "description": "bench"}).encode()

    def spend_headers() -> dict[str, str]:
        return {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}

    return [
        Target("GET /healthz", "GET", "/healthz", 200),
        Target("GET /api/v1/wallet", "GET", "/api/v1/wallet", 200),
        Target("POST /api/v1/spends", "POST", "/api/v1/spends", 201, spend_body, spend_headers),
    ]


def funded_users_with_tokens(count: int, *, name: str) -> list[str]:
    """The API tokens of `count` new users (`name` in their addresses), each funded with
    FUNDING credits; committed at once, so another process (gunicorn) sees them all."""
    users = get_user_model().objects
    tokens = []
    with transaction.atomic():
        for index in range(count):
            user = users.create_user(email=f"{name}{index}@bench.test")
            services.grant(
                wallet=user.wallet,
                amount=FUNDING,
                source="purchase",
                actor=ACTOR,
                idempotency_key=f"bench-{name}-{user.pk}",
            )
            tokens.append(create_api_token(user=user, name="bench").secret)
    return tokens


def _database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "", safe="")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"], safe="")
    host = db["HOST"] or "127.0.0.1"
    return f"postgres://{credentials}@{host}:{db['PORT'] or 5432}/{quote(db['NAME'], safe='')}"


def _serve(port: int, workers: int) -> subprocess.Popen:
    """gunicorn as the README runs it in production, against the bench's database."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "ENV_FILE": "/dev/null",
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "SITE_URL": f"http://127.0.0.1:{port}",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": _database_url(),
        "OIDC_RSA_PRIVATE_KEY": settings.OIDC_RSA_PRIVATE_KEY,  # this process's: any key serves
        # A benchmark's clients are few users calling fast: the per-user limit would measure
        # the throttle, not the request.
        "API_THROTTLE_USER_RATE": "100000000/minute",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
    }
    return subprocess.Popen(  # noqa: S603 (our own gunicorn, fixed arguments)
        [str(GUNICORN), "config.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_until_up(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            reason = (server.stderr.read() or "").strip().splitlines()
            raise HttpBenchFailed(f"gunicorn exited: {reason[-1] if reason else 'no output'}")
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            status, _ = _request(probe, "GET", "/healthz")
            probe.close()
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise HttpBenchFailed("gunicorn did not answer /healthz within 30 s")


def _request(conn: http.client.HTTPConnection, method, path, body=None, headers=None):
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    response.read()
    return response.status, response.will_close


def _drive(port, target: Target, *, clients, seconds, tokens, write) -> RunResult:
    """`clients` client processes (forked: one interpreter's lock would cap the load before
    gunicorn does) drive `target` for `seconds`."""
    context = multiprocessing.get_context("fork")
    start = context.Barrier(clients + 1)
    tallies = context.Queue()

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, errors, first_error = [], 0, ""
        start.wait()
        deadline = time.monotonic() + seconds
        turn = index
        while time.monotonic() < deadline:
            token = tokens[turn % len(tokens)]
            turn += clients
            headers = {"Authorization": f"Token {token}", **target.headers()}
            began = time.perf_counter()
            try:
                status, closing = _request(conn, target.method, target.path, target.body(), headers)
            except (OSError, http.client.HTTPException) as error:
                status, closing = None, True
                first_error = first_error or f"{type(error).__name__}: {error}"
            if status == target.expected:
                mine.append(time.perf_counter() - began)
            else:
                errors += 1
                first_error = first_error or f"HTTP {status}"
            if closing:  # gunicorn's sync workers close each connection after answering
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.close()
        tallies.put((mine, errors, first_error))

    connections.close_all()  # a forked child must not share the parent's connection
    processes = [context.Process(target=client, args=(index,)) for index in range(clients)]
    for process in processes:
        process.start()
    start.wait()
    began = time.perf_counter()
    # Read before joining: a child exits only once the queue has taken its tally.
    results = [tallies.get(timeout=seconds + 120) for _ in processes]
    elapsed = time.perf_counter() - began
    for process in processes:
        process.join()
    latencies = [latency for mine, _, _ in results for latency in mine]
    tally = {
        "errors": sum(errors for _, errors, _ in results),
        "first_error": next((first for _, _, first in results if first), ""),
    }
    result = RunResult(
        target.label,
        sorted(latencies),
        tally["errors"],
        tally["first_error"],
        elapsed,
    )
    if not result.latencies:
        raise HttpBenchFailed(f"{target.label}: no request succeeded ({result.first_error})")
    write(
        f"{target.label:<26}{result.ops:>9}{result.ops_per_second:>10.1f}"
        f"{format_ms(result.percentile_ms(0.50)):>9}{format_ms(result.percentile_ms(0.99)):>9}"
        f"{result.errors:>8}"
    )
    if result.errors:
        write(f"  first error: {result.first_error}")
    return result
