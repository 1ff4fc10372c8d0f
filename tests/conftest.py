import functools
import os
from urllib.parse import urlparse

import pytest
from django.core.cache import cache


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Tests may connect to this machine and to the database host in DATABASE_URL, nowhere else."""
    hosts = {"127.0.0.1", "::1", "localhost"}
    database_host = urlparse(os.environ.get("DATABASE_URL", "")).hostname
    if database_host:
        hosts.add(database_host)
    config.option.allow_hosts = ",".join(sorted(hosts))


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings):
    # A cheap hasher keeps sign-up and sign-in tests fast; production keeps Django's default.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests render pages without running collectstatic (test_static.py checks the real pipeline).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Partner apps sign ID tokens with RS256: without a key from the environment, one made here.
    if not settings.OAUTH2_PROVIDER.get("OIDC_RSA_PRIVATE_KEY"):
        settings.OAUTH2_PROVIDER = {
            **settings.OAUTH2_PROVIDER,
            "OIDC_RSA_PRIVATE_KEY": _test_signing_key(),
        }
    # Rate-limit counters live in the cache: no test inherits another's failed sign-ins.
    cache.clear()
    yield
    cache.clear()


@functools.cache
def _test_signing_key() -> str:
    """An RSA key for the test run (made once per process: 2048 bits take a moment)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.fixture(scope="session")
def _media_root(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _temporary_media_root(settings, _media_root):
    """Uploaded files go to a temporary folder, never the project's media/."""
    settings.MEDIA_ROOT = str(_media_root)


def pytest_report_header(config: pytest.Config) -> str:
    from django.db import connection

    return f"database: {connection.vendor} ({connection.settings_dict['NAME']})"


@pytest.fixture(autouse=True)
def _system_accounts(request):
    """A test that empties the database takes the migration's system accounts with it."""
    if request.node.get_closest_marker("django_db"):
        request.getfixturevalue("_django_db_helper")  # pytest-django's own marker handling
    elif "transactional_db" in request.fixturenames:
        request.getfixturevalue("transactional_db")
    elif "db" in request.fixturenames:
        request.getfixturevalue("db")
    else:
        return
    from credits.services import open_system_wallets

    open_system_wallets()


@pytest.fixture
def ledger_reconciles(request):
    """After the test, the whole ledger reconciles: whatever the test did, no credit was made or
    lost. Suites that move credits use it (pytest.mark.usefixtures("ledger_reconciles"))."""
    yield
    if request.node.get_closest_marker("django_db") or "db" in request.fixturenames:
        from credits.reconciliation import reconcile

        assert reconcile().problems == []
