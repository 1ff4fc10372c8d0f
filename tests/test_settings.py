"""Settings come from the environment and refuse unsafe combinations."""

import re
import secrets

import pytest

from tests.processes import PROJECT_DIR, manage, python

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "credits.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://credits.example.com",
    "EMAIL_URL": "smtp+tls://mailer:password@smtp.example.com:587",
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

    read = set(
        re.findall(
            r'(?:env\.\w+|url_setting|count_setting|rate_setting)\(\s*"([A-Z_]+)"', settings_source
        )
    )
    listed = set(re.findall(r"^([A-Z_]+)=", example, flags=re.MULTILINE))

    assert read == listed


def test_env_example_as_it_is_plus_production_values_passes_the_deployment_checklist():
    example = (PROJECT_DIR / ".env.example").read_text()
    variables = dict(re.findall(r"^([A-Z_]+)=(.*)$", example, flags=re.MULTILINE))

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


def test_a_support_address_that_is_not_one_is_named_in_one_line():
    result = manage("check", DEBUG="true", SUPPORT_EMAIL="help desk")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "CreditDesk cannot start: SUPPORT_EMAIL must be an e-mail address (got 'help desk')"
    ]
