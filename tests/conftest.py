import os
from urllib.parse import urlparse

import pytest
from django.core.cache import cache
from django.db import connection


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Tests may connect to this machine and to the database host in DATABASE_URL, nowhere else."""
    hosts = {"127.0.0.1", "::1", "localhost"}
    database_host = urlparse(os.environ.get("DATABASE_URL", "")).hostname
    if database_host:
        hosts.add(database_host)
    config.option.allow_hosts = ",".join(sorted(hosts))


# dj-stripe's schema from one migration of its final models (tests/migrations/djstripe says why);
# every other app, the ledger's PL/pgSQL functions with them, runs its real migrations.
TEST_MIGRATION_MODULES = {"djstripe": "tests.migrations.djstripe"}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings):
    """pytest-django's (each xdist worker's database name), and the test databases migrate
    dj-stripe in one step."""
    from django.conf import settings
    from django.test import override_settings

    modules = {**getattr(settings, "MIGRATION_MODULES", {}), **TEST_MIGRATION_MODULES}
    with override_settings(MIGRATION_MODULES=modules):
        yield


@pytest.fixture(autouse=True)
def _fast_and_isolated(settings):
    # A cheap hasher keeps sign-up and sign-in tests fast; production keeps Django's default.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Tests render pages without running collectstatic (test_static.py checks the real pipeline).
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    # Rate-limit counters live in the cache: no test inherits another's failed sign-ins.
    cache.clear()
    yield
    cache.clear()


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


@pytest.fixture
def everyone_listens():
    """An audience that wants every event: the outbox writes all it is told (the e-mails' and
    webhooks' audiences want only some)."""
    from events.outbox import Audience, register_audience, remove_audience

    register_audience(Audience("tests: everyone", "1 = 1"))
    yield
    remove_audience("tests: everyone")


@pytest.fixture
def nobody_listens(monkeypatch):
    """No audience at all (e-mail, webhooks): the outbox must write nothing."""
    from events import outbox

    monkeypatch.setattr(outbox, "_audiences", {})
    monkeypatch.setattr(outbox, "_conditions", {})


@pytest.fixture(params=[True, False], ids=["functions", "python"])
def ledger_functions(request, settings) -> bool:
    """Each ledger implementation in turn: PostgreSQL's one-call functions, then the Python
    rules alone (all SQLite has, so there the first is skipped)."""
    if request.param and connection.vendor != "postgresql":
        pytest.skip("the ledger's functions are PostgreSQL's; SQLite runs the Python rules")
    settings.CREDITS_LEDGER_FUNCTIONS = request.param
    return request.param
