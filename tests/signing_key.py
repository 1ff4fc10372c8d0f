"""A pytest plugin (pyproject's `-p tests.signing_key`): the test session's OpenID Connect
signing key, made in memory before Django reads its settings (OIDC_RSA_PRIVATE_KEY is required
with DEBUG off, as the tests run). Nothing is written to disk; processes the tests start get the
same key (tests/processes.py)."""

import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa


def new_rsa_key() -> str:
    """A new RSA private key, PEM (PKCS #8)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


os.environ.setdefault("OIDC_RSA_PRIVATE_KEY", new_rsa_key())
