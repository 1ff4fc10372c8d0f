"""Reading settings from the environment, one reader per kind of value.

Each reader takes the variable's name and its default; an empty variable means the default.
A value the reader cannot use raises ImproperlyConfigured with one sentence naming the variable
and what it allows, which config.startup turns into the one line the process stops with. So a
typo never passes silently (django-environ alone reads `DEBUG=maybe` as false) nor ends in a
traceback from deep inside Django.
"""

import importlib.util
import re
import warnings
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.validators import validate_email


class Env(environ.Env):
    """django-environ's reader, except that an empty variable means "use the default".

    So `KEY=` in a .env file or a process manager behaves like leaving KEY out.
    """

    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        if self.ENVIRON.get(var) == "" and default is not self.NOTSET:
            if parse_default and default is not None:
                return self.parse_value(default, cast)
            return default
        return super().get_value(var, cast=cast, default=default, parse_default=parse_default)


env = Env()


def _raw(name: str) -> str:
    return env.str(name, default="").strip()


def _shown(raw: str) -> str:
    """The start of a bad value, to quote in the message (never a whole secret)."""
    return repr(raw[:20])


TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


def bool_setting(name: str, default: bool) -> bool:
    """true or false (also 1/0, yes/no, on/off, any case)."""
    raw = _raw(name).lower()
    if not raw:
        return default
    if raw in TRUE_WORDS:
        return True
    if raw in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (got {_shown(raw)})")


def count_setting(name: str, default: int, *, minimum: int = 0) -> int:
    """A whole number of at least `minimum`."""
    raw = _raw(name)
    if not raw:
        return default
    if not raw.lstrip("-").isdecimal() or int(raw) < minimum:
        raise ImproperlyConfigured(
            f"{name} must be a whole number of at least {minimum} (got {_shown(raw)})"
        )
    return int(raw)


def choice_setting(name: str, default: str, choices: tuple[str, ...]) -> str:
    """One word of a fixed list (any case)."""
    raw = _raw(name).upper() or default
    if raw not in choices:
        raise ImproperlyConfigured(
            f"{name} must be one of {', '.join(choices)} (got {_shown(raw)})"
        )
    return raw


RATE = re.compile(r"([1-9][0-9]*)/(second|minute|hour|day)")


def rate_setting(name: str, default: str) -> str:
    """A rate such as 600/minute."""
    raw = _raw(name) or default
    if not RATE.fullmatch(raw):
        raise ImproperlyConfigured(
            f"{name} must be a rate such as 600/minute: a whole number of at least 1, then "
            f"/second, /minute, /hour or /day (got {_shown(raw)})"
        )
    return raw


def url_setting(name: str, parse, default: str, *, engines: dict[str, str] | None = None) -> dict:
    """A URL that django-environ turns into a configuration (database, cache, e-mail); with
    `engines` ({URL form: Django engine}), the database engines the URL may name."""
    value = _raw(name) or default
    # Name the scheme, never the URL: it may hold a password.
    scheme = value.split("://", 1)[0] if "://" in value else value[:20]
    try:
        with warnings.catch_warnings():
            # django-environ only warns about an unknown scheme, then fails later, obscurely.
            warnings.simplefilter("error")
            config = parse(value)
    except (ImproperlyConfigured, ValueError, KeyError, UserWarning) as exc:
        raise ImproperlyConfigured(
            f"{name} is not a valid URL for this setting (scheme {scheme!r}; see .env.example)"
        ) from exc
    if engines and config.get("ENGINE") not in engines.values():
        raise ImproperlyConfigured(
            f"{name} must be a {' or '.join(engines)} URL (scheme {scheme!r}; see .env.example)"
        )
    return config


HOST = re.compile(r"\*|\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.?|\[[0-9A-Fa-f:.]+\]")


def hosts_setting(name: str, default: list[str]) -> list[str]:
    """Host names, comma-separated (`.example.com` for its subdomains too)."""
    hosts = [host.strip() for host in _raw(name).split(",") if host.strip()]
    for host in hosts:
        if not HOST.fullmatch(host):
            raise ImproperlyConfigured(
                f"{name} must be host names separated by commas, without a scheme, port or "
                f"path, e.g. credits.example.com (got {_shown(host)})"
            )
    return hosts or default


HOST_PORT = re.compile(r"(\.?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?")


def host_ports_setting(name: str, default: list[str]) -> list[str]:
    """Host names or addresses, each perhaps with a port (127.0.0.1:8000), comma-separated."""
    hosts = [host.strip().lower() for host in _raw(name).split(",") if host.strip()]
    for host in hosts:
        if not HOST_PORT.fullmatch(host):
            raise ImproperlyConfigured(
                f"{name} must be host names or addresses separated by commas, each perhaps with "
                f"a port, without a scheme or path, e.g. 127.0.0.1:8000 (got {_shown(host)})"
            )
    return hosts or default


def _is_origin(value: str, *, path_allowed: bool) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError:
        return False
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.query
        and not parts.fragment
        and (path_allowed or parts.path in ("", "/"))
    )


def origins_setting(name: str) -> list[str]:
    """Origins (scheme and host), comma-separated."""
    origins = [origin.strip() for origin in _raw(name).split(",") if origin.strip()]
    for origin in origins:
        if not _is_origin(origin, path_allowed=False):
            raise ImproperlyConfigured(
                f"{name} must be origins separated by commas, each http:// or https:// and a "
                f"host, e.g. https://credits.example.com (got {_shown(origin)})"
            )
    return origins


def site_url_setting(name: str, *, required: bool) -> str:
    """The site's public address (http:// or https://, a host, perhaps a path), without a
    trailing slash; required when `required` (DEBUG off: nothing else can say it)."""
    raw = _raw(name).rstrip("/")
    if not raw:
        if required:
            raise ImproperlyConfigured(
                f"{name} is not set; it is required when DEBUG is off (the site's public "
                "address, e.g. https://credits.example.com, for links in e-mails and Stripe)"
            )
        return ""
    if not _is_origin(raw, path_allowed=True):
        raise ImproperlyConfigured(
            f"{name} must be the site's address, http:// or https:// and a host, "
            f"e.g. https://credits.example.com (got {_shown(raw)})"
        )
    return raw


def email_setting(name: str, default: str) -> str:
    """An e-mail address, perhaps with a name: `CreditDesk <noreply@example.com>`."""
    raw = _raw(name) or default
    _, address = parseaddr(raw)
    try:
        validate_email(address)
    except ValidationError:
        raise ImproperlyConfigured(
            f"{name} must be an e-mail address, perhaps with a name, e.g. "
            f"CreditDesk <noreply@credits.example.com> (got {_shown(raw)})"
        ) from None
    return raw


DOTTED_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def dotted_path_setting(name: str, default: str) -> str:
    """The dotted path of a class in an installed package (imported later, by its user)."""
    raw = _raw(name) or default
    if not DOTTED_PATH.fullmatch(raw) or importlib.util.find_spec(raw.split(".")[0]) is None:
        raise ImproperlyConfigured(
            f"{name} must be the dotted path of a class in an installed package, e.g. "
            f"django_tasks_db.DatabaseBackend (got {_shown(raw)})"
        )
    return raw


def path_setting(name: str, default: Path) -> Path:
    """An absolute path of a folder."""
    raw = _raw(name)
    if not raw:
        return default
    path = Path(raw)
    if not path.is_absolute() or path.is_file():
        raise ImproperlyConfigured(
            f"{name} must be the absolute path of a folder, e.g. /srv/creditdesk/static "
            f"(got {_shown(raw)})"
        )
    return path


def env_file_setting(name: str, default: Path) -> Path:
    """A file of variables; a missing one is allowed (none are read), a folder is not."""
    path = Path(_raw(name) or default)
    if path.is_dir():
        raise ImproperlyConfigured(f"{name} must name a file of variables, not a folder")
    return path


def prefixed_setting(name: str, prefixes: tuple[str, ...], what: str) -> str:
    """A Stripe key: empty, or beginning with one of its prefixes."""
    raw = _raw(name)
    if raw and not raw.startswith(prefixes):
        raise ImproperlyConfigured(
            f"{name} must be empty or {what}, beginning with "
            f"{' or '.join(prefix + '…' for prefix in prefixes)} (got {raw[:3]!r}…)"
        )
    return raw


def secret_key_setting(name: str, *, required: bool) -> str:
    """Django's secret key: with DEBUG off, required and as strong as `check --deploy` wants."""
    raw = env.str(name, default="")
    if not required:
        return raw
    if not raw:
        raise ImproperlyConfigured(
            f"{name} is not set; it is required when DEBUG is off "
            "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    if len(raw) < 50 or len(set(raw)) < 5 or raw.startswith("django-insecure-"):
        raise ImproperlyConfigured(
            f"{name} must be at least 50 characters, at least 5 of them different, and not "
            "Django's development key (generate one with: "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))')"
        )
    return raw


def pattern_setting(name: str, pattern: str, what: str, *, secret: bool = False) -> str:
    """A word of a known form (a bucket name, a region, a key), or empty; a secret's value is
    never quoted back."""
    raw = _raw(name)
    if raw and not re.fullmatch(pattern, raw):
        shown = "the value is not shown" if secret else f"got {_shown(raw)}"
        raise ImproperlyConfigured(f"{name} must be {what} ({shown})")
    return raw


def origin_setting(name: str) -> str:
    """One origin (http:// or https:// and a host, perhaps a port), or empty."""
    raw = _raw(name).rstrip("/")
    if raw and not _is_origin(raw, path_allowed=False):
        raise ImproperlyConfigured(
            f"{name} must be an address, http:// or https:// and a host, e.g. "
            f"https://s3.example.com (got {_shown(raw)})"
        )
    return raw


def check_file_storage(storage: str, bucket: str, access_key, secret_key) -> None:
    """FILE_STORAGE=s3 needs a bucket, django-storages with boto3, and both keys or neither."""
    if storage != "S3":
        return
    if not bucket:
        raise ImproperlyConfigured(
            "AWS_STORAGE_BUCKET_NAME is not set; it is required when FILE_STORAGE is s3"
        )
    if any(importlib.util.find_spec(package) is None for package in ("storages", "boto3")):
        raise ImproperlyConfigured(
            "FILE_STORAGE is s3 but django-storages[s3] is not installed "
            "(pip install -r requirements.txt)"
        )
    if bool(access_key) != bool(secret_key):
        raise ImproperlyConfigured(
            "AWS_S3_ACCESS_KEY_ID and AWS_S3_SECRET_ACCESS_KEY go together: set both, or "
            "neither to use boto3's own credentials"
        )


PEM_BLOCK = re.compile(
    r"-----BEGIN (?:RSA )?PRIVATE KEY-----.+?-----END (?:RSA )?PRIVATE KEY-----", re.S
)


def _rsa_keys(name: str, raw: str) -> list[str]:
    """The RSA private keys (PEM) in `raw`, each checked: 2048 bits or more."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    # A process manager may hold a PEM on one line with its line breaks written as \n.
    text = raw.replace("\\n", "\n").strip()
    blocks = PEM_BLOCK.findall(text)
    refusal = ImproperlyConfigured(
        f"{name} must be the PEM of an RSA private key of at least 2048 bits, unencrypted "
        "(generate one with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072; "
        "the value is not shown)"
    )
    if not blocks or PEM_BLOCK.sub("", text).strip():
        raise refusal
    for block in blocks:
        try:
            key = load_pem_private_key(block.encode(), password=None)
        except (ValueError, TypeError):
            raise refusal from None
        if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
            raise refusal
    return blocks


def rsa_key_setting(name: str, *, required: bool, development_file: Path) -> str:
    """The RSA private key (PEM) that signs OpenID Connect ID tokens. Required when `required`
    (DEBUG off: a key made up at start-up would change at every restart, and every partner's
    cached JWKS with it); otherwise, when unset, a development key kept in `development_file`
    (made once, so ID tokens survive a restart of `make run`)."""
    raw = env.str(name, default="")
    if raw.strip():
        keys = _rsa_keys(name, raw)
        if len(keys) > 1:
            raise ImproperlyConfigured(f"{name} must hold one key (the value is not shown)")
        return keys[0]
    if required:
        raise ImproperlyConfigured(
            f"{name} is not set; it is required when DEBUG is off (the PEM of the RSA private "
            "key that signs ID tokens; generate one with: "
            "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072)"
        )
    return development_rsa_key(development_file)


def rsa_keys_setting(name: str) -> list[str]:
    """RSA private keys (PEM blocks one after another), or none: the signing keys of before a
    rotation, whose public halves stay in the JWKS while ID tokens they signed are alive."""
    raw = env.str(name, default="")
    return _rsa_keys(name, raw) if raw.strip() else []


def development_rsa_key(path: Path) -> str:
    """The development signing key in `path` (git-ignored), made on first use."""
    if path.is_file():
        return path.read_text()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(pem)
    return pem
