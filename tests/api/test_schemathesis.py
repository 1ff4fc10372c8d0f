"""Property-based checks of the read endpoints against the generated OpenAPI schema:
whatever the parameters, no 5xx, and every response matches what the schema says."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import override_settings
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import ignored_auth, positive_data_acceptance

from tests.clients import api_token
from tests.credits.conftest import ACTOR, fund, key
from tests.factories import UserFactory
from tests.integrations.partners import api_key, approved_app, signing_key

with override_settings(ALLOWED_HOSTS=["*"]):  # schemathesis calls the app as "localhost"
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
# A NUL character in any part of a request is refused (400 parse_error, documented on every
# operation; tests/test_malformed_requests.py), so a valid request never holds one.
schema.config.generation.update(allow_x00=False)
read_endpoints = schema.include(method="GET")


@pytest.fixture
def in_process_requests():
    """Keep the test's database connection open across requests, as Django's test client does
    (the WSGI handler otherwise closes it when each request finishes)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def token(db, settings, in_process_requests):
    settings.ALLOWED_HOSTS = ["*"]
    user = UserFactory()
    fund(user.wallet, 100)
    from credits import services

    services.spend(wallet=user.wallet, amount=10, actor=ACTOR, idempotency_key=key())
    return api_token(user)


@pytest.fixture
def app_key(db, settings):
    """A key of a partner app, for the app's own endpoints (app/…), which take nothing else."""
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_RSA_PRIVATE_KEY": signing_key()}
    return api_key(approved_app())


@read_endpoints.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_read_endpoints_never_fail_and_match_their_schema(case, token, app_key):
    credential = f"Token {token}"
    if case.operation.path.startswith("/api/v1/app/"):
        credential = f"Bearer {app_key}"
    case.headers = {**(case.headers or {}), "Authorization": credential}

    response = case.call()

    # Every endpoint accepts a token or a session; schemathesis sends a bad cookie beside our
    # good token and expects a refusal. Credentials are tested on their own in tests/test_api.py.
    excluded = [ignored_auth]
    if case.operation.path in ("/api/v1/statements", "/api/v1/app/usage"):
        # A range whose end is before its start is refused (400), which the schema cannot say.
        excluded.append(positive_data_acceptance)
    case.validate_response(response, excluded_checks=excluded)
