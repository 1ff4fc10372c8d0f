"""`credits_bench --profile-api N`: where one `POST /api/v1/spends` spends its time.

N requests through Django's whole handler in this process (middleware, DRF, the token's
authentication, the Idempotency-Key layer, the ledger's call, the answer), each with a token and
a fresh key, as a client sends them: first timed without a profiler (the figure to believe),
then again under cProfile, whose cumulative times per part are printed per request (a profiler
slows Python, not the database, so Python's parts read high; their order is what it tells).
"""

import cProfile
import itertools
import math
import pstats
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.test import Client, override_settings

from credits.bench.http import funded_users_with_tokens

# (what, file the function is in, its name): each part's cumulative time, per request.
PARTS = [
    ("the whole handler", "django/core/handlers/base.py", "get_response"),
    ("  URL resolved and the view (DRF)", "django/core/handlers/base.py", "_get_response"),
    ("  token authentication", "accounts/authentication.py", "authenticate_credentials"),
    ("  kept answer and wallet (one statement)", "credits/api/idempotency.py", "_kept_answer"),
    ("  body validated", "core/api/parsers.py", "valid_data"),
    ("  the spend service", "credits/services/movements.py", "spend"),
    ("    answer made ahead (serializer, stand-ins)", "one_call.py", "_answer_template"),
    ("    the ledger's one call (credits_take)", "one_call.py", "_execute"),
    ("  waiting on PostgreSQL, every statement", "psycopg/connection.py", "wait"),
]


PER_USER = 400


class ProfileFailed(Exception):
    """A profiled request was not answered 201: its figures would mean nothing."""


def profile_api_spend(write: Callable[[str], object], *, requests: int) -> None:
    # Django's test client names its host "testserver": let it in, as a client's real host is.
    with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
        _profile(write, requests)


def _profile(write: Callable[[str], object], requests: int) -> None:
    # One user per PER_USER requests, taken in turn, so that none reaches the API's per-user
    # throttle (API_THROTTLE_USER_RATE) within the minute the profile takes.
    tokens = funded_users_with_tokens(math.ceil((2 * requests + 21) / PER_USER), name="profile")
    clients = itertools.cycle([Client(HTTP_AUTHORIZATION=f"Token {token}") for token in tokens])

    def spend() -> None:
        response = next(clients).post(
            "/api/v1/spends",
            {"amount": 1, "description": "profile"},
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            secure=True,  # as behind production's TLS: no redirect to https
        )
        if response.status_code != 201:
            raise ProfileFailed(
                f"a profiled spend was answered {response.status_code}: {response.content[:200]!r}"
            )

    for _ in range(20):  # connections, prepared statements, serializers: made once
        spend()
    statements = []  # counted by a wrapper: the handler empties the query log at each request

    def counted(execute, sql, *args):
        statements.append(sql)
        return execute(sql, *args)

    with connection.execute_wrapper(counted):
        spend()
    began = time.perf_counter()
    for _ in range(requests):
        spend()
    wall_ms = (time.perf_counter() - began) * 1000 / requests
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        spend()
    profiler.disable()
    write(
        f"profile of POST /api/v1/spends: {requests} requests in process, "
        f"{wall_ms:.2f} ms each unprofiled, {len(statements)} statements each"
    )
    stats = pstats.Stats(profiler).stats  # (file, line, name) -> (cc, nc, tt, ct, callers)
    for label, file, name in PARTS:
        ms = sum(
            cumulative
            for (path, _line, function), (_cc, _nc, _tt, cumulative, _callers) in stats.items()
            if function == name and path.endswith(file)
        )
        write(f"  {label:<50}{ms * 1000 / requests:>8.3f} ms")
