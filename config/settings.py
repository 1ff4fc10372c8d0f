"""CreditDesk settings, read from the environment (django-environ).

Every variable is listed, with its meaning, in `.env.example`. Development needs none of them
(`make run` sets DEBUG=true); production needs at least SECRET_KEY and ALLOWED_HOSTS.
"""

from pathlib import Path
from urllib.parse import urlsplit

import environ
from csp.constants import NONE, SELF

from config import startup
from config.environment import (
    bool_setting,
    check_file_storage,
    choice_setting,
    count_setting,
    dotted_path_setting,
    email_setting,
    env,
    env_file_setting,
    host_ports_setting,
    hosts_setting,
    origin_setting,
    origins_setting,
    path_setting,
    pattern_setting,
    prefixed_setting,
    rate_setting,
    rsa_key_setting,
    rsa_keys_setting,
    secret_key_setting,
    site_url_setting,
    url_setting,
)
from core.api.tags import TAGS

BASE_DIR = Path(__file__).resolve().parent.parent

# A local `.env` file fills in what the real environment leaves unset; ENV_FILE names another
# one (the test suite names /dev/null, so a developer's .env never changes what tests see).
ENV_FILE = env_file_setting("ENV_FILE", BASE_DIR / ".env")
if ENV_FILE.is_file():
    environ.Env.read_env(ENV_FILE)

DEBUG = bool_setting("DEBUG", default=False)

SECRET_KEY = secret_key_setting("SECRET_KEY", required=not DEBUG) or (
    "django-insecure-development-only-never-use-in-production"
)

ALLOWED_HOSTS = hosts_setting(
    "ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = origins_setting("CSRF_TRUSTED_ORIGINS")

# The site's public address (https://credits.example.com): links in e-mails and the pages Stripe
# sends buyers back to are built on it (core.links). Required with DEBUG off, where a link built
# from a request's Host header, or from none at all, would be wrong; with DEBUG on, empty means
# the request's address (or, outside a request, the development server's).
SITE_URL = site_url_setting("SITE_URL", required=not DEBUG)

# CreditDesk's own apps, in dependency order (each may offer `<app>.demo.seed` to seed_demo).
LOCAL_APPS = [
    "accounts",
    "events",
    "credits",
    "billing",
    "disputes",
    "jobs",
    "integrations",
    "notifications",
    "analytics",
]

# Apps whose management commands replace a third-party app's of the same name (Django runs the
# first listed app's): events' db_worker is django_tasks_db's worker plus the outbox's sweep.
COMMANDS_FIRST = ["events"]

INSTALLED_APPS = [
    *COMMANDS_FIRST,
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    # Serve static files through whitenoise under runserver too, as in production.
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Django's own form templates, so templates/django/forms/ can override the field layout.
    "django.forms",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "drf_standardized_errors",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "csp",
    "djstripe",
    "django_tasks",
    "django_tasks_db",
    # OAuth 2 / OpenID Connect for partner apps (its Application is integrations.PartnerApp).
    "oauth2_provider",
    # What every app shares (imports none of them).
    "core",
    *(app for app in LOCAL_APPS if app not in COMMANDS_FIRST),
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Below whitenoise, so static files keep their own (long-lived) headers: every response
    # Django makes is never cached and carries the Content-Security-Policy.
    "core.caching.NoStoreMiddleware",
    "csp.middleware.CSPMiddleware",
    # Before anything reads the request: a NUL character is a 400, an over-large body a 413.
    "core.malformed.MalformedRequestMiddleware",
    # Links in e-mails sent while serving a request may take its address (core.links).
    "core.links.CurrentRequestMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a signed-in user unless its view says otherwise (@login_not_required).
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A session past its lifetime or idle timeout is signed out (SESSION_*, STAFF_SESSION_*).
    "accounts.middleware.SessionLimitsMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Staff pages (the admin) need a session that passed two-factor.
    "accounts.middleware.StaffTwoFactorMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # A page answered 405 with nothing to show (require_POST) gets the site's own page.
    "core.error_pages.MethodNotAllowedPageMiddleware",
    # Partner calls: RateLimit headers and usage counts, once the answer is known.
    "integrations.middleware.PartnerTrafficMiddleware",
    # Innermost, so a view that found the database busy answers 503 (core.faults).
    "core.faults.DatabaseBusyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.navigation",
                "config.context_processors.support",
                "accounts.context_processors.two_factor_return",
            ],
            # {{ n|figure }}: the one way a page shows a number or an amount of money.
            "builtins": ["core.templatetags.figures"],
        },
    },
]

# Forms render with the project's templates (one field layout for every form on the site).
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# --- Database -------------------------------------------------------------------------------------
DATABASES = {
    "default": url_setting(
        "DATABASE_URL",
        env.db_url_config,
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        engines={
            "postgres://…": "django.db.backends.postgresql",
            "sqlite:///…": "django.db.backends.sqlite3",
        },
    ),
}
# Read (and checked) whatever the database, so a typo shows before the move to PostgreSQL.
DATABASE_CONN_MAX_AGE = count_setting("DATABASE_CONN_MAX_AGE", 60)
DATABASE_PREPARED_STATEMENTS = bool_setting("DATABASE_PREPARED_STATEMENTS", default=True)
# How long one statement may wait for a lock another transaction holds (a wallet row), and how
# long it may run, in seconds; 0 means no limit. A request gives up early and answers 503 with
# Retry-After, keeping nothing (core.faults), rather than wait until the server kills its
# worker. Operators' commands (cron jobs, migrations, the task worker) may wait longer. Both
# pairs are read, and checked, in every process; config.startup says which one applies.
REQUEST_DATABASE_TIMEOUTS = (
    count_setting("DATABASE_LOCK_TIMEOUT", 3),
    count_setting("DATABASE_STATEMENT_TIMEOUT", 15),
)
COMMAND_DATABASE_TIMEOUTS = (
    count_setting("DATABASE_COMMAND_LOCK_TIMEOUT", 60),
    count_setting("DATABASE_COMMAND_STATEMENT_TIMEOUT", 0),
)
DATABASE_LOCK_TIMEOUT, DATABASE_STATEMENT_TIMEOUT = (
    REQUEST_DATABASE_TIMEOUTS if startup.serves_requests else COMMAND_DATABASE_TIMEOUTS
)

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take SQLite's write lock up front, so concurrent writers wait
    # (busy_timeout: the lock timeout; SQLite has no statement timeout) instead of failing
    # halfway through; WAL lets pages read meanwhile.
    busy_ms = DATABASE_LOCK_TIMEOUT * 1000 or 2**31 - 1  # 0: no limit (about 24 days)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "init_command": f"PRAGMA journal_mode=WAL; PRAGMA busy_timeout={busy_ms};",
        }
    )
else:
    # Sent when each connection opens (libpq's `options`, after any the URL gave). Behind
    # PgBouncer, which refuses or ignores `options`, set them on the role instead
    # (ALTER ROLE … SET lock_timeout = '3s'; README).
    timeouts = (
        f"-c lock_timeout={DATABASE_LOCK_TIMEOUT}s "
        f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT}s"
    )
    database_options = DATABASES["default"].setdefault("OPTIONS", {})
    database_options["options"] = f"{database_options.get('options', '')} {timeouts}".strip()
    DATABASES["default"]["CONN_MAX_AGE"] = DATABASE_CONN_MAX_AGE
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # psycopg prepares a statement once it has run this many times on a connection. Only the
    # ledger's hot statements can be (credits.services.posting.prepared_cursor); Django's own
    # cursors bind on the client and never are. Off for poolers that drop prepared statements
    # between transactions (PgBouncer in transaction mode before 1.21).
    if DATABASE_PREPARED_STATEMENTS:
        DATABASES["default"].setdefault("OPTIONS", {}).setdefault("prepare_threshold", 5)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Rate-limit counters (allauth's sign-in limits, receiver look-ups) and used TOTP codes live in
# the cache, so every process must share it or each counts alone (2 workers: twice the
# attempts). With DEBUG off the default is a table in the database, which `migrate` creates
# (accounts' migration 0004); Redis (redis://…) serves busier sites. With DEBUG on (one
# development server) and in tests: each process's memory. config.startup and a system check
# warn when DEBUG is off and the cache is process-local.
DATABASE_CACHE_TABLE = "creditdesk_cache"
CACHES = {
    "default": url_setting(
        "CACHE_URL",
        env.cache_url_config,
        default="locmemcache://" if DEBUG else f"dbcache://{DATABASE_CACHE_TABLE}",
    )
}
DATABASE_CACHE = "django.core.cache.backends.db.DatabaseCache"
if CACHES["default"]["BACKEND"] == DATABASE_CACHE:
    # Django culls a database cache past 300 entries, which would drop live counters.
    CACHES["default"].setdefault("OPTIONS", {}).setdefault("MAX_ENTRIES", 100_000)
# API rate limits (core.api.throttling) count in the shared cache when it is a fast one; with the
# database cache, in each process's memory (it would add a table count to every API call).
CACHES["throttle"] = (
    {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "throttle"}
    if CACHES["default"]["BACKEND"] in (DATABASE_CACHE,)
    else CACHES["default"]
)

# --- Accounts -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "credits:dashboard"

ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
# Sign-up and password reset answer the same whether or not an address has an account, so
# nobody can learn who is a customer (of a money system: a target list for phishing). The
# e-mail tells the address's owner instead: "you already have an account", or "there is no
# account for this address".
ACCOUNT_PREVENT_ENUMERATION = True
# Credits are money: an account must prove it owns its address before it signs in.
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[CreditDesk] "
# allauth's rate limits are on by default; the failed-login one is written out to be visible:
# 10 a minute from one address, 5 in 5 minutes for one account.
ACCOUNT_LOGIN_LOCKOUT_MINUTES = 5
ACCOUNT_RATE_LIMITS = {"login_failed": f"10/m/ip,5/{ACCOUNT_LOGIN_LOCKOUT_MINUTES}m/key"}
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# Sections other apps add to the Account page, below its own (callables: request → HTML):
# accounts imports none of the apps above it.
ACCOUNT_PAGE_SECTIONS = [
    "integrations.account_views.connected_apps_section",
    "notifications.views.account_section",
]

# Sessions end a fixed time after signing in and after a spell without requests, sooner for
# staff (accounts.sessions; the last-seen mark is written at most once a minute).
SESSION_LIFETIME_HOURS = count_setting("SESSION_LIFETIME_HOURS", 14 * 24, minimum=1)
SESSION_IDLE_MINUTES = count_setting("SESSION_IDLE_MINUTES", 2 * 24 * 60, minimum=1)
STAFF_SESSION_LIFETIME_HOURS = count_setting("STAFF_SESSION_LIFETIME_HOURS", 12, minimum=1)
STAFF_SESSION_IDLE_MINUTES = count_setting("STAFF_SESSION_IDLE_MINUTES", 30, minimum=1)
# The cookie (with "Remember me") and the stored session live as long as the longest lifetime;
# the limits above end them sooner.
SESSION_COOKIE_AGE = max(SESSION_LIFETIME_HOURS, STAFF_SESSION_LIFETIME_HOURS) * 3600
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "CreditDesk"
# allauth's "trust this browser" would let a sign-in skip the code, and staff pages need a
# session that used one (accounts.middleware.StaffTwoFactorMiddleware): keep it off.
MFA_TRUST_ENABLED = False

# --- E-mail ---------------------------------------------------------------------------------------
vars().update(url_setting("EMAIL_URL", env.email_url_config, default="consolemail://"))
# A mail server that never answers must not hold a sender past its claim on the notice
# (notifications.channel.SEND_CLAIM, 5 minutes).
EMAIL_TIMEOUT = 60
DEFAULT_FROM_EMAIL = email_setting("DEFAULT_FROM_EMAIL", "CreditDesk <noreply@localhost>")
# Where users write for help (linked from a frozen or suspended wallet's pages).
SUPPORT_EMAIL = email_setting("SUPPORT_EMAIL", "support@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Background work (the outbox's dispatch, e-mails, webhook deliveries): run where it is enqueued
# by default (tests, a bare `runserver`); `make run` and production use the database backend,
# django_tasks_db.DatabaseBackend, with `manage.py db_worker` running beside the web processes.
# A busy process queues one dispatch of the outbox per this many seconds (events.outbox.kick).
EVENTS_DISPATCH_WINDOW = count_setting("EVENTS_DISPATCH_WINDOW", 1)
# The worker sweeps (dispatches what waits, runs the apps' due work such as webhook retries) on
# start and every this many seconds (events.management.commands.db_worker).
EVENTS_SWEEP_SECONDS = count_setting("EVENTS_SWEEP_SECONDS", 60, minimum=1)
# /healthz says "degraded" when the oldest event (or an app's overdue item, such as a webhook
# delivery) has waited longer than this many seconds: the worker is stuck or not running.
EVENTS_STUCK_SECONDS = count_setting("EVENTS_STUCK_SECONDS", 600, minimum=1)
# What /healthz adds to its details (callables: → (details, degraded)); config imports no app.
HEALTH_DETAILS = ["events.dispatch.health"]

TASKS = {
    "default": {
        "BACKEND": dotted_path_setting(
            "TASKS_BACKEND", "django_tasks.backends.immediate.ImmediateBackend"
        )
    }
}

# --- Internationalisation -------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["config.formats"]

# --- Uploaded files (jobs' files) -----------------------------------------------------------------
# Kept through STORAGES["default"]: the file system under MEDIA_ROOT, or an S3 bucket (any
# S3-compatible service) through django-storages. There is no MEDIA_URL: files are never served
# from a public address, only by the download views, to people who may see the job.
MEDIA_ROOT = path_setting("MEDIA_ROOT", BASE_DIR / "media")
FILE_STORAGE = choice_setting("FILE_STORAGE", "FILESYSTEM", ("FILESYSTEM", "S3"))
# django-storages reads these settings by these names; empty keys: boto3's own credentials
# (an instance role, ~/.aws), never keys in the repository.
AWS_STORAGE_BUCKET_NAME = pattern_setting(
    "AWS_STORAGE_BUCKET_NAME",
    r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]",
    "an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens, e.g. "
    "creditdesk-files",
)
AWS_S3_REGION_NAME = (
    pattern_setting(
        "AWS_S3_REGION_NAME",
        r"[a-z0-9]+(-[a-z0-9]+)*",
        "a region name: lower-case words joined by hyphens, e.g. eu-west-1",
    )
    or None
)
AWS_S3_ENDPOINT_URL = origin_setting("AWS_S3_ENDPOINT_URL") or None
AWS_S3_ACCESS_KEY_ID = (
    pattern_setting("AWS_S3_ACCESS_KEY_ID", r"\S{1,128}", "an access key id without spaces") or None
)
AWS_S3_SECRET_ACCESS_KEY = (
    pattern_setting(
        "AWS_S3_SECRET_ACCESS_KEY", r"\S{1,256}", "a secret access key without spaces", secret=True
    )
    or None
)
# A stored name is never reused (each upload has its own uuid) and the bucket stays private.
AWS_S3_FILE_OVERWRITE = False
AWS_DEFAULT_ACL = None
check_file_storage(
    FILE_STORAGE, AWS_STORAGE_BUCKET_NAME, AWS_S3_ACCESS_KEY_ID, AWS_S3_SECRET_ACCESS_KEY
)
FILE_STORAGE_BACKENDS = {
    "FILESYSTEM": "django.core.files.storage.FileSystemStorage",
    "S3": "storages.backends.s3.S3Storage",
}

# --- Static files (whitenoise) --------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = path_setting("STATIC_ROOT", BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": FILE_STORAGE_BACKENDS[FILE_STORAGE]},
    "staticfiles": {
        # Hashed, compressed names in production; plain files while developing, so no
        # collectstatic is needed before `runserver`.
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage",
    },
}

# --- Security (production defaults; `manage.py check --deploy` is clean with them) ---------------
SECURE_SSL_REDIRECT = bool_setting("SECURE_SSL_REDIRECT", default=not DEBUG)
# Load balancers probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if bool_setting("TRUST_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies (load balancer, CDN) stand in front and append to X-Forwarded-For: the
# client's address is that many entries from its end. 0: the connection's own address (what
# a direct connection gives; behind a proxy every visitor would then share its address, and
# one visitor's failed sign-ins would lock everyone out).
TRUSTED_PROXY_COUNT = count_setting("TRUSTED_PROXY_COUNT", 0)
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_COUNT
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_HSTS_SECONDS = count_setting("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = bool_setting("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = bool_setting("SECURE_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    # Preloading a domain into browsers is the domain owner's decision, not a default.
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
X_FRAME_OPTIONS = "DENY"
# A POST without its CSRF token gets the site's own page (Django's has an inline style).
CSRF_FAILURE_VIEW = "config.views.csrf_failure"

# Content-Security-Policy (django-csp) on every page, the admin and the API docs: scripts and
# styles only from our own static files (no inline script, style or handler anywhere; htmx is
# told not to inject its indicator <style> and not to eval, in templates/base.html), no plugins,
# never framed. Forms post to us alone, but Chromium applies form-action to the redirect after a
# post too, so the pages Stripe hosts (Checkout, the customer portal) that our checkout and
# portal views send a 303 to must be listed.
STRIPE_HOSTED_PAGES = ["https://checkout.stripe.com", "https://billing.stripe.com"]
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        # data: SVG images: the two-factor QR code (allauth) and Swagger UI's icons.
        "img-src": [SELF, "data:"],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF, *STRIPE_HOSTED_PAGES],
        "frame-ancestors": [NONE],
    },
}

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first: an anonymous API call is then answered 401 with a WWW-Authenticate header.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        # Partner apps: `Bearer cdk_…` API keys (the app itself), then `Bearer` OAuth access
        # tokens, acting for a user who consented.
        "integrations.authentication.ApiKeyAuthentication",
        "integrations.authentication.PartnerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Partner credentials reach only the endpoints that name their scope (core.api.permissions).
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "core.api.permissions.PartnerScopePermission",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Bodies are JSON only (amounts are JSON integers), nested at most 32 deep (core.api.parsers).
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # One pagination for every list: cursor pages, {next, previous, results} (core.api.pagination).
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.CursorPages",
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.AutoSchema",
    "EXCEPTION_HANDLER": "drf_standardized_errors.handler.exception_handler",
    # Formats are chosen by the Accept header alone (one way to ask for CSV).
    "URL_FORMAT_OVERRIDE": None,
    # Rates per caller and per anonymous address (core.api.throttling); 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": [
        "core.api.throttling.UserThrottle",
        "core.api.throttling.AnonymousThrottle",
    ],
    # An anonymous caller is its connection's address, or, behind TRUSTED_PROXY_COUNT proxies,
    # the address they saw (never an X-Forwarded-For entry the caller could forge).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}
# Calls a signed-in caller may make (any credential of their own), and an anonymous address, per
# period. Partner apps' calls have their own limits instead (INTEGRATIONS_DEFAULT_RATE_PER_MINUTE).
API_THROTTLE_USER_RATE = rate_setting("API_THROTTLE_USER_RATE", "600/minute")
API_THROTTLE_ANON_RATE = rate_setting("API_THROTTLE_ANON_RATE", "60/minute")
DRF_STANDARDIZED_ERRORS = {
    "ENABLE_IN_DEBUG_FOR_UNHANDLED_EXCEPTIONS": True,
    "EXCEPTION_HANDLER_CLASS": "core.api.errors.DomainErrorHandler",
    # drf-standardized-errors' own codes, plus a body too large and a busy database, which
    # every operation may answer.
    "ALLOWED_ERROR_STATUS_CODES": [
        *("400", "401", "403", "404", "405", "406", "413", "415", "429", "500", "503")
    ],
    "ERROR_SCHEMAS": {
        "413": "core.malformed.ErrorResponse413Serializer",
        "503": "core.faults.ErrorResponse503Serializer",
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "CreditDesk API",
    "DESCRIPTION": (
        "The credits ledger for partner apps and programs. Every error, whatever its status, "
        "has the same shape: `{type, errors: [{code, detail, attr}]}`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "SWAGGER_UI_DIST": "SIDECAR",
    # Without deep links: with them each operation's path is a link inside the button that
    # opens it, which screen readers cannot reach (axe: nested-interactive).
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Name drf-standardized-errors' enums once, so the schema has no generated-name warnings.
    "ENUM_NAME_OVERRIDES": {
        **{
            name: f"drf_standardized_errors.openapi_serializers.{name}.choices"
            for name in [
                "ValidationErrorEnum",
                "ClientErrorEnum",
                "ServerErrorEnum",
                *(f"ErrorCode{status}Enum" for status in (401, 403, 404, 405, 406, 415, 429, 500)),
            ]
        },
        "ErrorCode413Enum": "core.malformed.ErrorCode413Enum.choices",
        "ErrorCode503Enum": "core.faults.ErrorCode503Enum.choices",
        "WalletStatusEnum": "credits.api.enums.WALLET_STATUS",
        "HoldStatusEnum": "credits.api.enums.HOLD_STATUS",
        "DisputeStatusEnum": "disputes.api.enums.DISPUTE_STATUS",
        "JobStatusEnum": "jobs.api.enums.JOB_STATUS",
        "MilestoneStatusEnum": "jobs.api.enums.MILESTONE_STATUS",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_standardized_errors.openapi_hooks.postprocess_schema_enums",
        "core.api.schema.group_paths_by_tag",
        "core.api.schema.refuse_unknown_fields",
        # Every event type's payload (docs/events.md): after the enum hook, which would name
        # the one-value `type` enums.
        "events.payloads.add_event_components",
    ],
    # Partner apps' OAuth tokens (integrations.schema): the authorization code flow only.
    "OAUTH2_FLOWS": ["authorizationCode"],
    "OAUTH2_AUTHORIZATION_URL": "/o/authorize/",
    "OAUTH2_TOKEN_URL": "/o/token/",
    "OAUTH2_REFRESH_URL": "/o/token/",
    # Operations grouped by tag, staff last (core.api.schema.TAGS), not by path (admin/ first).
    "TAGS": TAGS,
}

# --- Credits ledger -------------------------------------------------------------------------------
# The hot operations as one call to their PostgreSQL function (credits.services.one_call);
# off, every operation runs its Python rules, as on SQLite (the tests compare the two).
CREDITS_LEDGER_FUNCTIONS = bool_setting("CREDITS_LEDGER_FUNCTIONS", default=True)
# A refund whose credits came from a grant that has expired since gets a new grant living this long.
CREDITS_REFUND_GRACE_DAYS = count_setting("CREDITS_REFUND_GRACE_DAYS", 30, minimum=1)
# Credits one wallet may transfer to others per day (UTC).
CREDITS_DAILY_TRANSFER_LIMIT = count_setting("CREDITS_DAILY_TRANSFER_LIMIT", 10_000, minimum=1)
# How long a hold lasts when its caller gives no expiry.
CREDITS_HOLD_TTL_HOURS = count_setting("CREDITS_HOLD_TTL_HOURS", 168, minimum=1)
# The longest a caller may ask a hold to last: reserved credits must come back some day.
CREDITS_HOLD_MAX_TTL_DAYS = count_setting("CREDITS_HOLD_MAX_TTL_DAYS", 90, minimum=1)
# Staff powers (maker-checker): a staff grant or deduction above this many credits, or beyond the
# staff member's daily limit, waits for a second staff member's approval, for this many hours.
CREDITS_STAFF_APPROVAL_ABOVE = count_setting("CREDITS_STAFF_APPROVAL_ABOVE", 1_000)
CREDITS_STAFF_DAILY_LIMIT = count_setting("CREDITS_STAFF_DAILY_LIMIT", 10_000)
CREDITS_STAFF_APPROVAL_HOURS = count_setting("CREDITS_STAFF_APPROVAL_HOURS", 72, minimum=1)
# Different receiver addresses one user may look up (transfer form and API) in any hour: past
# it, every new address gets one answer, so nobody lists who has an account.
TRANSFER_RECEIVER_LOOKUPS_PER_HOUR = count_setting(
    "TRANSFER_RECEIVER_LOOKUPS_PER_HOUR", 20, minimum=1
)

# --- Disputes ----------------------------------------------------------------------------------
# How long after a transaction its owner may dispute it.
DISPUTE_WINDOW_DAYS = count_setting("DISPUTE_WINDOW_DAYS", 60, minimum=1)
# Days a milestone dispute waits on the client's answer to staff's question; then it is closed
# against them: the milestone is accepted in full (reminders 72 h and 24 h before).
DISPUTES_AWAITING_USER_DAYS = count_setting("DISPUTES_AWAITING_USER_DAYS", 7, minimum=1)

# --- Jobs --------------------------------------------------------------------------------------
# Every waiting state of a milestone has a deadline and a default outcome (docs/jobs.md).
# A delivered milestone the client neither accepts nor questions is accepted after this many days.
JOBS_REVIEW_DAYS = count_setting("JOBS_REVIEW_DAYS", 7, minimum=1)
# Change requests a client may make per milestone; after them, they accept or dispute.
JOBS_MAX_REVISIONS = count_setting("JOBS_MAX_REVISIONS", 3, minimum=0)
# A milestone not delivered this many days after its due date (or after changes were asked,
# if later) is cancelled and its credits go back to the client.
JOBS_DELIVERY_GRACE_DAYS = count_setting("JOBS_DELIVERY_GRACE_DAYS", 14, minimum=1)
# The largest file a job accepts.
JOBS_MAX_UPLOAD_MB = count_setting("JOBS_MAX_UPLOAD_MB", 25, minimum=1)

# --- Partner apps (integrations; docs/partners.md) ------------------------------------------------
# Partner apps are django-oauth-toolkit's applications: chosen before its first migration ran.
OAUTH2_PROVIDER_APPLICATION_MODEL = "integrations.PartnerApp"
# OpenID Connect signs ID tokens with this RSA key (RS256); partners verify them with its public
# half from the JWKS. Required with DEBUG off; with DEBUG on and unset, `make run` makes a
# development key once in .dev/ (git-ignored). After a rotation, the keys of before go in
# OIDC_RSA_PRIVATE_KEYS_INACTIVE: their public halves stay in the JWKS until the ID tokens they
# signed have expired (OAUTH2_PROVIDER's ID_TOKEN_EXPIRE_SECONDS), then drop them.
OIDC_RSA_PRIVATE_KEY = rsa_key_setting(
    "OIDC_RSA_PRIVATE_KEY", required=not DEBUG, development_file=BASE_DIR / ".dev" / "oidc-dev.pem"
)
OIDC_RSA_PRIVATE_KEYS_INACTIVE = rsa_keys_setting("OIDC_RSA_PRIVATE_KEYS_INACTIVE")
# Each setting below is django-oauth-toolkit 3.4.1's (oauth2_provider/settings.py); what it
# leaves out keeps that release's default.
OAUTH2_PROVIDER = {
    "SCOPES_BACKEND_CLASS": "integrations.scopes.PartnerScopes",
    # Only approved apps get codes and tokens; ID tokens carry sub, email, name by scope.
    "OAUTH2_VALIDATOR_CLASS": "integrations.oauth.PartnerValidator",
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": OIDC_RSA_PRIVATE_KEY,
    "OIDC_RSA_PRIVATE_KEYS_INACTIVE": OIDC_RSA_PRIVATE_KEYS_INACTIVE,
    # The issuer is the site's address (ID tokens' `iss`, both discovery documents); empty with
    # DEBUG on and no SITE_URL: the request's address (the discovery document at the root).
    "OIDC_ISS_ENDPOINT": SITE_URL,
    "ID_TOKEN_EXPIRE_SECONDS": 3600,
    # Authorization code with PKCE (S256 only) is the one way for a user to let an app in:
    # what discovery advertises is what the server accepts (integrations.oauth refuses the rest).
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    # Access tokens only in the Authorization header, never in a query string.
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    # The authorization response names its issuer (RFC 9207: mix-up attacks).
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    # Redirect URIs match exactly; https only when DEBUG is off (`check --deploy` errs otherwise).
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"] if DEBUG else ["https"],
    "ALLOW_URI_WILDCARDS": False,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    # Each refresh gives a new refresh token; a used one presented again revokes its family.
    "ROTATE_REFRESH_TOKEN": True,
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    # No grace period: it would need the token of before kept in plaintext.
    "REFRESH_TOKEN_GRACE_PERIOD_SECONDS": 0,
    # Tokens are kept as SHA-256 checksums only, like API keys: a copy of the database
    # holds no token anyone could use.
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "REFRESH_TOKEN_EXPIRE_SECONDS": 60 * 60 * 24 * 30,
}
# Requests per minute an app (and each of its keys) may make unless staff set its own limit.
INTEGRATIONS_DEFAULT_RATE_PER_MINUTE = count_setting(
    "INTEGRATIONS_DEFAULT_RATE_PER_MINUTE", 600, minimum=1
)
# The longest a rotated API key keeps working beside its replacement.
INTEGRATIONS_KEY_MAX_OVERLAP_HOURS = count_setting(
    "INTEGRATIONS_KEY_MAX_OVERLAP_HOURS", 24, minimum=0
)
# The <env> of new API keys (cdk_<env>_…): tells a test key from a live one at a glance.
INTEGRATIONS_KEY_ENVIRONMENT = choice_setting(
    "INTEGRATIONS_KEY_ENVIRONMENT", "TEST" if DEBUG else "LIVE", ("LIVE", "TEST")
).lower()

# Signed webhooks to partner apps (integrations.services.webhook_http): hosts (a name or an
# address, perhaps with a port: 127.0.0.1:8000) that endpoints may reach over plain http and at
# private or loopback addresses, which are otherwise refused (SSRF). Development allows the
# site's own address, where the demo receiver (/developers/demo-webhook-receiver/) listens;
# production allows none unless set.
INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS = host_ports_setting(
    "INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS",
    [urlsplit(SITE_URL).netloc.lower() if SITE_URL else "127.0.0.1:8000"] if DEBUG else [],
)

# --- Stripe (empty keys are allowed: the shop then says payments are not configured) -------------
STRIPE_LIVE_MODE = bool_setting("STRIPE_LIVE_MODE", default=False)
STRIPE_SECRET_KEY = prefixed_setting("STRIPE_SECRET_KEY", ("sk_", "rk_"), "a secret key")
STRIPE_PUBLISHABLE_KEY = prefixed_setting("STRIPE_PUBLISHABLE_KEY", ("pk_",), "a publishable key")
STRIPE_WEBHOOK_SECRET = prefixed_setting("STRIPE_WEBHOOK_SECRET", ("whsec_",), "a signing secret")
# Pinned: dj-stripe would otherwise send stripe-python's newest version, and the fields billing
# reads (invoice.parent, subscription items' periods) are where this version puts them.
STRIPE_API_VERSION = "2026-05-27.dahlia"
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
DJSTRIPE_SUBSCRIBER_MODEL = AUTH_USER_MODEL
# A subscription invoice paid after its period ended grants its credits living this long.
BILLING_LATE_INVOICE_GRACE_DAYS = count_setting("BILLING_LATE_INVOICE_GRACE_DAYS", 7, minimum=1)
# The most credits a promo code may give (a fixed bonus or a free grant): a typo of a few zeros in
# the admin must not print money. Percent bonuses are capped at 100 % in billing.
BILLING_PROMOTION_MAX_CREDITS = count_setting("BILLING_PROMOTION_MAX_CREDITS", 100_000, minimum=1)

# --- Logging: one line per record on stderr, where gunicorn and the process manager collect it ----
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": choice_setting(
            "LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
        ),
    },
    # stripe-python logs every request at INFO; its warnings and errors are what matter.
    "loggers": {"stripe": {"level": "WARNING"}},
}
