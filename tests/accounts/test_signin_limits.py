"""allauth's sign-in limits hold across server processes (the shared database cache) and tell
visitors apart behind a proxy (TRUSTED_PROXY_COUNT sets ALLAUTH_TRUSTED_PROXY_COUNT:
tests/test_settings.py)."""

import http.client
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from django.conf import global_settings
from django.core.cache import cache
from django.db import connection
from django.urls import reverse

from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.processes import PROJECT_DIR, environment, manage
from tests.test_serving import free_port

LOCKED = "Too many failed sign-in attempts"
GUNICORN = Path(sys.executable).with_name("gunicorn")
DATABASE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "creditdesk_cache",
    }
}


def sign_in(client, email, password, **headers):
    response = client.post(
        reverse("account_login"), {"login": email, "password": password}, **headers
    )
    return "locked" if LOCKED in response.content.decode() else response.status_code


@pytest.mark.django_db
def test_the_database_cache_counts_failed_sign_ins(client, settings):
    settings.CACHES = DATABASE_CACHE
    user = UserFactory()

    outcomes = [sign_in(client, user.email, "wrong") for _ in range(5)]

    assert outcomes == [200] * 5
    assert sign_in(client, user.email, DEFAULT_PASSWORD) == "locked"
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM creditdesk_cache")
        assert cursor.fetchone()[0] > 0
    cache.clear()


@pytest.mark.django_db
def test_behind_a_proxy_one_visitors_failures_do_not_lock_out_another(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    user = UserFactory()

    for number in range(10):
        sign_in(client, f"nobody{number}@example.com", "wrong", HTTP_X_FORWARDED_FOR="10.0.0.1")

    assert sign_in(client, user.email, "wrong", HTTP_X_FORWARDED_FOR="10.0.0.1") == "locked"
    assert sign_in(client, user.email, DEFAULT_PASSWORD, HTTP_X_FORWARDED_FOR="10.0.0.2") == 302


class Server:
    """gunicorn with two workers on 127.0.0.1, on the test database, DEBUG off."""

    def __init__(self, static_root, **variables):
        database = connection.settings_dict
        url = (
            f"postgres://{quote(database['USER'])}:{quote(database['PASSWORD'])}@"
            f"{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}/{database['NAME']}"
        )
        self.port = free_port()
        production = {
            "DEBUG": "false",
            "SECRET_KEY": "serving-tests-only-" * 3,
            "SITE_URL": "http://127.0.0.1",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": url,
            "DATABASE_CONN_MAX_AGE": "0",
            # Pages name hashed static files: collected first, as the README's production steps.
            "STATIC_ROOT": str(static_root),
            **variables,
        }
        collected = manage("collectstatic", "--noinput", **production)
        assert collected.returncode == 0, collected.stderr
        self.process = subprocess.Popen(
            [str(GUNICORN), "config.wsgi", "--bind", f"127.0.0.1:{self.port}", "--workers", "2"],
            cwd=PROJECT_DIR,
            env=environment(**production),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.request("GET", "/healthz")
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    pytest.fail(f"gunicorn did not start: {self.process.stderr.read()}")
                time.sleep(0.2)

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read().decode()
        finally:
            conn.close()

    def sign_in(self, email, password, **headers):
        """The sign-in page, then its form, as a browser sends them (a new connection each)."""
        _, sent, page = self.request("GET", "/accounts/login/", headers=headers)
        cookie = next(v.split(";")[0] for k, v in sent if k.lower() == "set-cookie")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        form = urlencode({"csrfmiddlewaretoken": token, "login": email, "password": password})
        status, _, page = self.request(
            "POST",
            "/accounts/login/",
            body=form,
            headers={
                **headers,
                "Cookie": cookie,
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        return "locked" if LOCKED in page else status

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.mark.enable_socket
@pytest.mark.skipif(shutil.which(str(GUNICORN)) is None, reason="gunicorn is not installed")
@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="two server processes share the test database only on PostgreSQL (DATABASE_URL)",
)
@pytest.mark.django_db(transaction=True)
def test_with_two_workers_an_account_locks_at_the_sixth_attempt(settings, tmp_path):
    # The server checks passwords with production's hashers, not the tests' fast one.
    settings.PASSWORD_HASHERS = global_settings.PASSWORD_HASHERS
    account = UserFactory()
    server = Server(tmp_path / "static")
    try:
        attempts = [server.sign_in(account.email, "wrong") for _ in range(6)]
    finally:
        server.stop()
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM creditdesk_cache")

    assert attempts == [200, 200, 200, 200, 200, "locked"]


def test_a_request_that_bypassed_the_proxies_is_a_400_not_a_500(client, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2

    response = client.post(
        reverse("account_login"),
        {"login": "someone@example.com", "password": "wrong"},
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )

    assert response.status_code == 400
