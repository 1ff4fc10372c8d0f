"""How tests sign in: API tokens, staff sessions that passed two-factor, and an API client.

One module, so every suite signs in the same way and a change to credentials changes one place.
"""

import base64
import hashlib
import hmac
import json
import struct
import time
import uuid

from allauth.account.internal.flows.login import record_authentication
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.test import Client, RequestFactory

from accounts import services


def api_token(user, *, name: str | None = None, expires_at=None) -> str:
    """A new API token for `user`, as its owner creates one on the Account page; returns the
    token (the secret shown once)."""
    name = name or f"test token {uuid.uuid4().hex[:8]}"
    return services.create_api_token(user=user, name=name, expires_at=expires_at).secret


def enrol_two_factor(user) -> str:
    """Give `user` a TOTP authenticator (as the enrolment page does); returns its secret."""
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(secret: str, at: float | None = None) -> str:
    """The six-digit code an authenticator app shows for `secret` at `at` (default now):
    RFC 6238, written here independently of allauth's own implementation."""
    key = base64.b32decode(secret, casefold=True)
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = int.from_bytes(digest[offset : offset + 4], "big") & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def this_totp_window() -> float:
    """The start of the current 30-second TOTP window: freeze the clock there (time_machine) so a
    code computed now is still the valid one when the server checks it."""
    return float(int(time.time()) // 30 * 30)


def sign_in_staff(client: Client, user) -> Client:
    """Sign a staff member in with a session that passed two-factor, as allauth's sign-in with a
    TOTP code leaves it (the real flow is tested in tests/accounts)."""
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        enrol_two_factor(user)
    client.force_login(user)
    request = RequestFactory().get("/")
    request.session = client.session
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    record_authentication(request, user, "password", email=user.email)
    record_authentication(request, user, "mfa", id=authenticator.pk, type="totp")
    request.session.save()
    return client


class Api:
    """Calls /api/v1/ as `user`: with an API token, or, for staff, a two-factor session (staff
    endpoints accept nothing else)."""

    def __init__(self, user):
        self.user = user
        self.client = Client()
        if user.is_staff:
            sign_in_staff(self.client, user)
            self.headers = {}
        else:
            self.headers = {"HTTP_AUTHORIZATION": f"Token {api_token(user)}"}

    def get(self, path, **headers):
        return self.client.get(f"/api/v1/{path}", **self.headers, **headers)

    def post(self, path, body=None, *, idempotency_key: str | None = "new", **headers):
        return self.send("post", path, body, idempotency_key=idempotency_key, **headers)

    def patch(self, path, body=None, **headers):
        return self.send("patch", path, body, idempotency_key=None, **headers)

    def put(self, path, body=None, **headers):
        return self.send("put", path, body, idempotency_key=None, **headers)

    def send(self, method, path, body=None, *, idempotency_key: str | None = "new", **headers):
        if idempotency_key == "new":
            idempotency_key = uuid.uuid4().hex
        if idempotency_key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
        return getattr(self.client, method)(
            f"/api/v1/{path}",
            json.dumps(body or {}),
            content_type="application/json",
            **self.headers,
            **headers,
        )
