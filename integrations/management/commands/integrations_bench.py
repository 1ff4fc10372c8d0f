"""How much partner authentication costs: the time to verify an API key and an OAuth access token
(median and p99 over N verifications, in this process, without the network), and the SQL
statements partner authentication and usage counting add to an API call.

It makes its own demo rows (a user, an approved app, a key, a consent, an access token, the
user's own API token) inside one transaction that it rolls back, so it leaves nothing behind and
runs against whatever DATABASE_URL points to.
"""

import secrets
import statistics
import time
import uuid
from datetime import timedelta

from django.core.cache import caches
from django.core.management.base import BaseCommand
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone
from oauth2_provider.models import get_access_token_model
from rest_framework.request import Request

from accounts import services as accounts
from accounts.authentication import ApiTokenAuthentication
from accounts.models import User
from integrations.authentication import ApiKeyAuthentication, PartnerTokenAuthentication
from integrations.models import Consent, PartnerApp
from integrations.scopes import SCOPES
from integrations.services import keys

# Statements that are the benchmark's own transaction, not the call's.
OWN_TRANSACTION = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


class Rollback(Exception):
    pass


class Command(BaseCommand):
    help = "Time API key and OAuth token verification, and count the statements they add."

    def add_arguments(self, parser):
        parser.add_argument("--iterations", type=int, default=10_000)

    def handle(self, *args, iterations: int, **options):
        if iterations < 1:
            self.stderr.write("--iterations must be at least 1.")
            raise SystemExit(2)
        try:
            # RequestFactory and Client requests name the host "testserver".
            with transaction.atomic(), override_settings(ALLOWED_HOSTS=["testserver"]):
                self.measure(iterations)
                raise Rollback
        except Rollback:
            pass

    def measure(self, iterations: int) -> None:
        rows = demo_rows()
        self.stdout.write(
            f"database: {connection.vendor}; throttle cache: "
            f"{caches['throttle'].__class__.__name__}; {iterations} verifications each"
        )
        key_header = f"Bearer {rows['key']}"
        token_header = f"Bearer {rows['access_token']}"
        factory = RequestFactory()

        def key_service():
            keys.authenticate(rows["key"], ip="127.0.0.1")

        def key_class():
            request = Request(factory.get("/api/v1/app/usage", HTTP_AUTHORIZATION=key_header))
            if ApiKeyAuthentication().authenticate(request) is None:
                raise RuntimeError("The demo key did not authenticate.")

        def token_class():
            request = Request(factory.get("/api/v1/wallet", HTTP_AUTHORIZATION=token_header))
            if PartnerTokenAuthentication().authenticate(request) is None:
                raise RuntimeError("The demo access token did not authenticate.")

        def round_trip():
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")

        def own_token():
            request = Request(factory.get("/api/v1/wallet", HTTP_AUTHORIZATION=own_header))
            if ApiTokenAuthentication().authenticate(request) is None:
                raise RuntimeError("The demo user token did not authenticate.")

        own_header = f"Token {rows['user_token']}"
        for label, verify in (
            ("For scale: one database round trip (SELECT 1)", round_trip),
            ("For scale: a user's own token, ApiTokenAuthentication", own_token),
            ("API key, keys.authenticate", key_service),
            ("API key, ApiKeyAuthentication (with its rate-limit count)", key_class),
            ("OAuth token, PartnerTokenAuthentication (with its rate-limit count)", token_class),
        ):
            median, p99 = timed(verify, iterations)
            self.stdout.write(f"{label}: median {median:.1f} µs, p99 {p99:.1f} µs")

        client = Client()
        own = statements(client, "/api/v1/wallet", f"Token {rows['user_token']}")
        oauth = statements(client, "/api/v1/wallet", token_header)
        by_key = statements(client, "/api/v1/app/usage", key_header)
        self.stdout.write(
            f"GET /api/v1/wallet with the user's own token: {len(own)} statements; with a "
            f"partner's OAuth token: {len(oauth)} (+{len(oauth) - len(own)})"
        )
        for label, found in (("OAuth token", oauth), ("API key", by_key)):
            auth = [sql for sql in found if _names(sql, ("oauth2_provider", "integrations_appkey"))]
            counted = [
                sql
                for sql in found
                if sql.upper().startswith(("INSERT", "WITH"))
                and _names(sql, ("integrations_appusageday", "integrations_appuserday"))
            ]
            self.stdout.write(
                f"  {label} call: {len(auth)} for authentication, {len(counted)} for usage "
                f"counting (of {len(found)} in all)"
            )
        if connection.vendor != "postgresql":
            self.stdout.write(
                "  (SQLite counts an OAuth call's usage in two statements; PostgreSQL in one.)"
            )


def _names(sql: str, tables) -> bool:
    return any(table in sql for table in tables)


def timed(verify, iterations: int) -> tuple[float, float]:
    """Median and 99th percentile, in microseconds, after a few warm-up calls."""
    for _ in range(min(100, iterations)):
        verify()
    samples = []
    clock = time.perf_counter_ns
    for _ in range(iterations):
        start = clock()
        verify()
        samples.append((clock() - start) / 1_000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.99))]


def statements(client: Client, path: str, authorization: str) -> list[str]:
    """The SQL one call runs (after a warm-up call, so once-a-minute writes are done)."""
    client.get(path, HTTP_AUTHORIZATION=authorization, secure=True)
    with CaptureQueriesContext(connection) as captured:
        answer = client.get(path, HTTP_AUTHORIZATION=authorization, secure=True)
    if answer.status_code != 200:
        raise RuntimeError(f"{path} answered {answer.status_code}: {answer.content[:300]!r}")
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].upper().startswith(OWN_TRANSACTION)
    ]


def demo_rows() -> dict:
    suffix = uuid.uuid4().hex[:12]
    owner = User.objects.create_user(email=f"bench-owner-{suffix}@example.com")
    user = User.objects.create_user(email=f"bench-user-{suffix}@example.com")
    app = PartnerApp.objects.create(
        user=owner,
        name=f"Benchmark {suffix}",
        homepage="https://bench.example.com",
        redirect_uris="https://bench.example.com/callback",
        client_type=PartnerApp.CLIENT_CONFIDENTIAL,
        authorization_grant_type=PartnerApp.GRANT_AUTHORIZATION_CODE,
        status=PartnerApp.Status.APPROVED,
        allowed_scopes=" ".join(SCOPES),
        # Never the limit here: the benchmark times verification, not refusals.
        rate_limit_per_minute=10**9,
    )
    Consent.objects.create(app=app, user=user, scopes="openid credits:read", cap=1_000)
    access_token = secrets.token_urlsafe(30)
    get_access_token_model().objects.create(
        user=user,
        application=app,
        token=access_token,
        scope="openid credits:read",
        expires=timezone.now() + timedelta(hours=1),
    )
    key = keys.create(app=app, name="bench", scope_names=["usage:read"], by=owner)
    return {
        "key": key.secret,
        "access_token": access_token,
        "user_token": accounts.create_api_token(user=user, name="bench").secret,
    }
