"""The ID tokens' signing key comes from the environment: required with DEBUG off (one line
saying so), a development key made once when DEBUG is on and none is set, refused when it is
not an RSA key of 2048 bits or more."""

import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.exceptions import ImproperlyConfigured

from config.environment import rsa_key_setting, rsa_keys_setting
from tests.processes import manage
from tests.signing_key import new_rsa_key
from tests.test_settings import PRODUCTION


def test_debug_off_without_a_signing_key_refuses_to_start_with_one_line():
    result = manage("check", **{**PRODUCTION, "OIDC_RSA_PRIVATE_KEY": ""})

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "CreditDesk cannot start: OIDC_RSA_PRIVATE_KEY is not set; it is required when DEBUG is "
        "off (the PEM of the RSA private key that signs ID tokens; generate one with: "
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072)"
    ]


def test_with_debug_on_a_development_key_is_made_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("OIDC_RSA_PRIVATE_KEY", raising=False)
    kept = tmp_path / ".dev" / "oidc-dev.pem"

    first = rsa_key_setting("OIDC_RSA_PRIVATE_KEY", required=False, development_file=kept)
    second = rsa_key_setting("OIDC_RSA_PRIVATE_KEY", required=False, development_file=kept)

    assert first == second == kept.read_text()
    assert first.startswith("-----BEGIN PRIVATE KEY-----")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600


def test_a_key_from_the_environment_is_used_and_no_file_is_made(tmp_path, monkeypatch):
    key = new_rsa_key()
    monkeypatch.setenv("OIDC_RSA_PRIVATE_KEY", key)
    kept = tmp_path / "oidc-dev.pem"

    assert rsa_key_setting("OIDC_RSA_PRIVATE_KEY", required=True, development_file=kept) == (
        key.strip()
    )
    assert not kept.exists()


def pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@pytest.mark.parametrize(
    "value",
    [
        pem(ec.generate_private_key(ec.SECP256R1())),  # not RSA
        pem(rsa.generate_private_key(public_exponent=65537, key_size=1024)),  # noqa: S505 (too short: refused)
        new_rsa_key() + new_rsa_key(),  # two keys where one signs
        "garbage " + new_rsa_key(),
    ],
)
def test_what_is_not_one_strong_rsa_key_is_refused_without_showing_it(value, monkeypatch):
    monkeypatch.setenv("OIDC_RSA_PRIVATE_KEY", value)

    with pytest.raises(ImproperlyConfigured) as refusal:
        rsa_key_setting("OIDC_RSA_PRIVATE_KEY", required=True, development_file=None)

    assert str(refusal.value).startswith("OIDC_RSA_PRIVATE_KEY must ")
    assert "PRIVATE KEY-----" not in str(refusal.value)


def test_inactive_keys_are_each_key_of_the_list(monkeypatch):
    keys = [new_rsa_key(), new_rsa_key()]
    monkeypatch.setenv("OIDC_RSA_PRIVATE_KEYS_INACTIVE", "\n".join(keys))

    assert rsa_keys_setting("OIDC_RSA_PRIVATE_KEYS_INACTIVE") == [key.strip() for key in keys]
    monkeypatch.setenv("OIDC_RSA_PRIVATE_KEYS_INACTIVE", "")
    assert rsa_keys_setting("OIDC_RSA_PRIVATE_KEYS_INACTIVE") == []
