"""Settings come from the environment and refuse unsafe combinations."""

import re
import runpy
import secrets

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.processes import PROJECT_DIR, manage, python
from tests.signing_key import new_rsa_key

PRODUCTION = {
    "OIDC_RSA_PRIVATE_KEY": new_rsa_key(),
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "credits.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://credits.example.com",
    "EMAIL_URL": "smtp+tls://mailer:password@smtp.example.com:587",
    "SITE_URL": "https://credits.example.com",
}


def test_debug_off_without_a_secret_key_refuses_to_start_with_one_line():
    result = manage("check", DEBUG="false")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "CreditDesk cannot start: SECRET_KEY is not set; it is required when DEBUG is off "
        "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')"
    ]


def test_debug_on_without_a_secret_key_starts_with_the_development_key():
    result = manage("check", DEBUG="true")

    assert result.returncode == 0, result.stderr


def test_the_deployment_checklist_is_clean_with_production_values():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout
    assert result.stderr == ""


def test_the_wsgi_server_refuses_a_bad_configuration_with_one_line_too():
    result = python("import config.wsgi", DEBUG="false")

    assert result.returncode != 0
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .startswith("CreditDesk cannot start: SECRET_KEY is not set")
    )
    assert "Traceback" not in result.stderr


def test_the_deployment_checklist_flags_a_console_mail_backend():
    result = manage(
        "check", "--deploy", "--fail-level", "WARNING", **{**PRODUCTION, "EMAIL_URL": ""}
    )

    assert result.returncode != 0
    assert "EMAIL_URL" in result.stderr


def test_a_malformed_url_setting_is_named_in_one_line():
    result = manage("check", **{**PRODUCTION, "EMAIL_URL": "carrier-pigeon://coop"})

    assert result.returncode != 0
    assert result.stderr.startswith("CreditDesk cannot start: EMAIL_URL is not a valid URL")
    assert len(result.stderr.strip().splitlines()) == 1


def test_env_example_lists_exactly_the_variables_the_settings_read():
    settings_source = (PROJECT_DIR / "config" / "settings.py").read_text()
    example = (PROJECT_DIR / ".env.example").read_text()

    read = set(re.findall(r'(?:env\.\w+|\w+_setting)\(\s*"([A-Z][A-Z0-9_]*)"', settings_source))
    listed = set(re.findall(r"^([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE))

    assert read == listed


def test_env_example_as_it_is_plus_production_values_passes_the_deployment_checklist():
    example = (PROJECT_DIR / ".env.example").read_text()
    variables = dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", example, flags=re.MULTILINE))

    result = manage("check", "--deploy", "--fail-level", "WARNING", **{**variables, **PRODUCTION})

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DISPUTE_WINDOW_DAYS", "sixty"),
        ("CREDITS_DAILY_TRANSFER_LIMIT", "0"),
        ("STAFF_SESSION_IDLE_MINUTES", "0"),
    ],
)
def test_a_bad_number_setting_is_named_in_one_line(variable, value):
    result = manage("check", DEBUG="true", **{variable: value})

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"CreditDesk cannot start: {variable} must be a whole number of at least 1 (got {value!r})"
    ]


def database_options(**variables: str) -> str:
    """The PostgreSQL connection options the settings make (no connection is opened)."""
    show = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    postgres = "postgres://user:secret@db.example.com:5432/credits"
    result = manage("shell", "-c", show, DEBUG="true", DATABASE_URL=postgres, **variables)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_postgresql_prepares_statements_run_five_times_by_default():
    assert "'prepare_threshold': 5" in database_options()


def test_prepared_statements_can_be_turned_off_for_a_pooler():
    assert "prepare_threshold" not in database_options(DATABASE_PREPARED_STATEMENTS="false")


def shown_setting(expression: str, **variables: str) -> str:
    show = f"from django.conf import settings; print({expression})"
    result = manage("shell", "-c", show, **variables)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_with_debug_off_the_cache_is_the_database_table_migrate_creates():
    cache = shown_setting("settings.CACHES['default']", **PRODUCTION)

    assert "'BACKEND': 'django.core.cache.backends.db.DatabaseCache'" in cache
    assert "'LOCATION': 'creditdesk_cache'" in cache
    assert "'MAX_ENTRIES': 100000" in cache


def test_with_debug_on_the_cache_is_the_processs_memory():
    assert "LocMemCache" in shown_setting("settings.CACHES['default']['BACKEND']", DEBUG="true")


def test_the_trusted_proxy_count_sets_allauths_and_drfs():
    expression = "(settings.ALLAUTH_TRUSTED_PROXY_COUNT, settings.REST_FRAMEWORK['NUM_PROXIES'])"

    assert shown_setting(expression, DEBUG="true") == "(0, 0)"
    assert shown_setting(expression, DEBUG="true", TRUSTED_PROXY_COUNT="2") == "(2, 2)"


def test_files_are_kept_on_the_file_system_by_default_and_in_s3_by_setting_only():
    storage = "settings.STORAGES['default']['BACKEND']"
    bucket = {"FILE_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "creditdesk-files"}

    assert shown_setting(storage, DEBUG="true") == "django.core.files.storage.FileSystemStorage"
    assert shown_setting(storage, DEBUG="true", **bucket) == "storages.backends.s3.S3Storage"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"FILE_STORAGE": "s3"}, "AWS_STORAGE_BUCKET_NAME is not set; it is required when"),
        (
            {"FILE_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": "b-1", "AWS_S3_ACCESS_KEY_ID": "A"},
            "AWS_S3_ACCESS_KEY_ID and AWS_S3_SECRET_ACCESS_KEY go together",
        ),
    ],
)
def test_s3_storage_without_what_it_needs_refuses_to_start_with_one_line(variables, message):
    result = manage("check", DEBUG="true", **variables)

    assert result.returncode != 0
    assert result.stderr.startswith(f"CreditDesk cannot start: {message}")
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_process_local_cache_with_debug_off_is_warned_about_by_check_and_the_wsgi_server(
    tmp_path,
):
    # A static root that exists: whitenoise would warn of a missing one (no collectstatic here).
    production = {**PRODUCTION, "STATIC_ROOT": str(tmp_path)}
    local = {**production, "CACHE_URL": "locmemcache://"}

    checked = manage("check", **local)
    served = python("import config.wsgi", **local)

    assert checked.returncode == 0
    assert "core.W001" in checked.stderr
    assert "CACHE_URL" in checked.stderr
    assert served.returncode == 0, served.stderr
    assert served.stderr.startswith("CreditDesk warning: The cache (CACHE_URL) is process-local")
    assert python("import config.wsgi", **production).stderr == ""


# --- Every variable of .env.example: a value it accepts, one it refuses, and the refusal -------
# (variable: (accepted, refused, the start of the one-line refusal after "<variable> ")).
# A variable added to .env.example without a row here fails test_every_variable_has_a_row.
A_KEY = "k" * 25 + "ey-0123456789abcdefghijklmnopqrstuvwxyz"
ROWS = {
    "DEBUG": ("yes", "maybe", "must be true or false (got 'maybe')"),
    "SECRET_KEY": (A_KEY, "short", "must be at least 50 characters"),
    "ALLOWED_HOSTS": (".example.com,[::1]", "https://credits.example.com", "must be host names"),
    "CSRF_TRUSTED_ORIGINS": (
        "https://a.example.com,http://b:8000",
        "a.example.com",
        "must be origins",
    ),
    "ENV_FILE": ("/nonexistent/.env", str(PROJECT_DIR), "must name a file of variables, not"),
    "DATABASE_URL": (
        "postgres://u:p@db/x",
        "mysq://u:p@db/x",
        "must be a postgres://… or sqlite:///… URL",
    ),
    "DATABASE_CONN_MAX_AGE": ("0", "xyz", "must be a whole number of at least 0 (got 'xyz')"),
    "DATABASE_PREPARED_STATEMENTS": ("off", "sometimes", "must be true or false"),
    "DATABASE_LOCK_TIMEOUT": ("5", "3s", "must be a whole number of at least 0"),
    "DATABASE_STATEMENT_TIMEOUT": ("0", "-1", "must be a whole number of at least 0"),
    "DATABASE_COMMAND_LOCK_TIMEOUT": ("120", "1.5", "must be a whole number of at least 0"),
    "DATABASE_COMMAND_STATEMENT_TIMEOUT": ("600", "ten", "must be a whole number of at least 0"),
    "CACHE_URL": ("redis://127.0.0.1:6379/0", "redi://127.0.0.1", "is not a valid URL"),
    "API_THROTTLE_USER_RATE": ("10/second", "600/min", "must be a rate such as 600/minute"),
    "API_THROTTLE_ANON_RATE": ("5/day", "0/minute", "must be a rate such as 600/minute"),
    "SESSION_LIFETIME_HOURS": ("1", "0", "must be a whole number of at least 1"),
    "STAFF_SESSION_LIFETIME_HOURS": ("2", "two", "must be a whole number of at least 1"),
    "SESSION_IDLE_MINUTES": ("5", "0", "must be a whole number of at least 1"),
    "STAFF_SESSION_IDLE_MINUTES": ("5", "0", "must be a whole number of at least 1"),
    "EMAIL_URL": ("smtp://mail.example.com:25", "carrier-pigeon://coop", "is not a valid URL"),
    "DEFAULT_FROM_EMAIL": ("Desk <desk@example.com>", "noreply", "must be an e-mail address"),
    "TASKS_BACKEND": (
        "django_tasks_db.DatabaseBackend",
        "no_such_package.Backend",
        "must be the dotted path",
    ),
    "EVENTS_DISPATCH_WINDOW": ("0", "1s", "must be a whole number of at least 0"),
    "EVENTS_SWEEP_SECONDS": ("5", "0", "must be a whole number of at least 1"),
    "EVENTS_STUCK_SECONDS": ("60", "ten minutes", "must be a whole number of at least 1"),
    "SECURE_SSL_REDIRECT": ("0", "always", "must be true or false"),
    "TRUST_X_FORWARDED_PROTO": ("1", "y", "must be true or false"),
    "TRUSTED_PROXY_COUNT": ("2", "one", "must be a whole number of at least 0"),
    "SECURE_HSTS_SECONDS": ("3600", "1y", "must be a whole number of at least 0"),
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": ("no", "ja", "must be true or false"),
    "SECURE_HSTS_PRELOAD": ("on", "preload", "must be true or false"),
    "STATIC_ROOT": ("/srv/static", "static", "must be the absolute path of a folder"),
    "LOG_LEVEL": ("warning", "LOUD", "must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL"),
    "CREDITS_LEDGER_FUNCTIONS": ("off", "fast", "must be true or false"),
    "CREDITS_REFUND_GRACE_DAYS": ("1", "0", "must be a whole number of at least 1"),
    "CREDITS_DAILY_TRANSFER_LIMIT": ("5", "0", "must be a whole number of at least 1"),
    "CREDITS_HOLD_TTL_HOURS": ("1", "0", "must be a whole number of at least 1"),
    "CREDITS_HOLD_MAX_TTL_DAYS": ("30", "ninety", "must be a whole number of at least 1"),
    "CREDITS_STAFF_APPROVAL_ABOVE": ("0", "1k", "must be a whole number of at least 0"),
    "CREDITS_STAFF_DAILY_LIMIT": ("0", "lots", "must be a whole number of at least 0"),
    "CREDITS_STAFF_APPROVAL_HOURS": ("1", "0", "must be a whole number of at least 1"),
    "TRANSFER_RECEIVER_LOOKUPS_PER_HOUR": ("1", "0", "must be a whole number of at least 1"),
    "DISPUTE_WINDOW_DAYS": ("1", "sixty", "must be a whole number of at least 1"),
    "DISPUTES_AWAITING_USER_DAYS": ("2", "0", "must be a whole number of at least 1"),
    "JOBS_REVIEW_DAYS": ("3", "0", "must be a whole number of at least 1"),
    "JOBS_MAX_REVISIONS": ("0", "three", "must be a whole number of at least 0"),
    "JOBS_DELIVERY_GRACE_DAYS": ("1", "0", "must be a whole number of at least 1"),
    "JOBS_MAX_UPLOAD_MB": ("5", "25MB", "must be a whole number of at least 1"),
    "INTEGRATIONS_DEFAULT_RATE_PER_MINUTE": ("60", "0", "must be a whole number of at least 1"),
    "INTEGRATIONS_KEY_MAX_OVERLAP_HOURS": ("0", "a day", "must be a whole number of at least 0"),
    "INTEGRATIONS_KEY_ENVIRONMENT": ("live", "prod", "must be one of LIVE, TEST"),
    "INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS": (
        "127.0.0.1:8000,hooks.internal",
        "http://127.0.0.1:8000/",
        "must be host names or addresses",
    ),
    "MEDIA_ROOT": ("/srv/media", "media", "must be the absolute path of a folder"),
    "FILE_STORAGE": ("filesystem", "ftp", "must be one of FILESYSTEM, S3"),
    "AWS_STORAGE_BUCKET_NAME": ("creditdesk-files", "My_Bucket", "must be an S3 bucket name"),
    "AWS_S3_REGION_NAME": ("eu-west-1", "EU West 1", "must be a region name"),
    "AWS_S3_ENDPOINT_URL": ("http://127.0.0.1:9000", "s3.example.com", "must be an address"),
    "AWS_S3_ACCESS_KEY_ID": ("AKIAEXAMPLE", "two words", "must be an access key id"),
    "AWS_S3_SECRET_ACCESS_KEY": ("s3cr3t/Key+x", "two words", "must be a secret access key"),
    "STRIPE_LIVE_MODE": ("true", "live", "must be true or false"),
    "STRIPE_SECRET_KEY": ("sk_test_abc", "pk_test_abc", "must be empty or a secret key"),
    "STRIPE_PUBLISHABLE_KEY": ("pk_test_abc", "sk_test_abc", "must be empty or a publishable key"),
    "STRIPE_WEBHOOK_SECRET": ("whsec_abc", "abc", "must be empty or a signing secret"),
    "BILLING_LATE_INVOICE_GRACE_DAYS": ("1", "0", "must be a whole number of at least 1"),
    "BILLING_PROMOTION_MAX_CREDITS": ("500", "0", "must be a whole number of at least 1"),
    "SUPPORT_EMAIL": ("help@example.com", "help desk", "must be an e-mail address"),
    "OIDC_RSA_PRIVATE_KEY": (
        new_rsa_key().replace("\n", "\\n"),  # one line, its breaks written \n
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----",
        "must be the PEM of an RSA private key",
    ),
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": (
        new_rsa_key() + new_rsa_key(),
        "a key",
        "must be the PEM of an RSA private key",
    ),
    "SITE_URL": (
        "https://credits.example.com/desk/",
        "credits.example.com",
        "must be the site's address",
    ),
}


def example_variables() -> list[str]:
    example = (PROJECT_DIR / ".env.example").read_text()
    return re.findall(r"^([A-Z][A-Z0-9_]*)=", example, flags=re.MULTILINE)


def test_every_variable_of_env_example_has_a_row():
    assert sorted(ROWS) == sorted(example_variables())


def load_settings(monkeypatch, **variables: str) -> dict:
    """Run config/settings.py afresh with only the production values plus `variables` set."""
    for name in example_variables():
        monkeypatch.delenv(name, raising=False)
    for name, value in {**PRODUCTION, "ENV_FILE": "/dev/null", **variables}.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(PROJECT_DIR / "config" / "settings.py"))


@pytest.mark.parametrize("variable", sorted(ROWS))
def test_each_variable_accepts_a_good_value_and_refuses_a_bad_one_naming_itself(
    variable, monkeypatch
):
    accepted, refused, message = ROWS[variable]

    load_settings(monkeypatch, **{variable: accepted})
    with pytest.raises(ImproperlyConfigured) as refusal:
        load_settings(monkeypatch, **{variable: refused})

    assert str(refusal.value).startswith(f"{variable} {message}")
    assert "\n" not in str(refusal.value)


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DATABASE_URL", "mysq://user:secret@db/x"), ("DATABASE_CONN_MAX_AGE", "xyz")],
)
def test_the_processes_stop_with_one_line_naming_the_variable(variable, value):
    result = manage("check", DEBUG="true", **{variable: value})

    assert result.returncode != 0
    assert result.stderr.startswith(f"CreditDesk cannot start: {variable} must ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "secret" not in result.stderr


def test_debug_must_be_true_or_false():
    result = manage("check", DEBUG="maybe")

    assert result.stderr.strip().splitlines() == [
        "CreditDesk cannot start: DEBUG must be true or false (got 'maybe')"
    ]


def test_debug_off_needs_the_sites_address():
    result = manage("check", **{**PRODUCTION, "SITE_URL": ""})

    assert result.returncode != 0
    assert result.stderr.startswith("CreditDesk cannot start: SITE_URL is not set; it is required")
    assert len(result.stderr.strip().splitlines()) == 1
