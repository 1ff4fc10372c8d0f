"""Malformed requests are a 400 or a 413 on every page and endpoint, never a 500.

Every URL pattern of the project (pages, the admin, the API) is called with each kind of bad
input: a NUL character in the query, the path and a form field, JSON nested 5,000 levels deep,
and a body over DATA_UPLOAD_MAX_MEMORY_SIZE. The API answers in its error shape, pages with the
site's error page.
"""

import json
import re
import uuid

import pytest
import stripe
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern
from rest_framework.parsers import JSONParser
from rest_framework.views import APIView

from billing.testing import FakeStripe, own_stripe_account
from tests.clients import sign_in_staff
from tests.factories import StaffFactory
from tests.pages import text

pytestmark = pytest.mark.django_db

STRIPE_KEY = "sk_test_" + "b2" * 12

SAMPLES = ["1", "x", "auth", "x-1", str(uuid.uuid4())]
CONVERTED = {"int": "1", "uuid": SAMPLES[-1], "slug": "x", "str": "x", "path": "x"}


def _route(piece: str, prefix: str) -> str:
    def sample(match) -> str:
        if match.group(2) == "model_name":  # dj-stripe's admin actions name the admin's model
            return prefix.rstrip("/").rsplit("/", 1)[-1]
        if match.group(2) == "action_name":
            return "_resync_instances"
        return CONVERTED[match.group(1) or "str"]

    return re.sub(r"<(?:(\w+):)?(\w+)>", sample, piece)


def _regex(piece: str) -> str:
    """A string the regex matches: each named group becomes a sample it accepts."""
    piece = piece.removeprefix("^").removesuffix("$").removesuffix("\\Z")
    out, index = [], 0
    while (start := piece.find("(?P<", index)) != -1:
        end = _closing_parenthesis(piece, start)
        inner = piece[piece.index(">", start) + 1 : end]
        out += [piece[index:start], next(s for s in SAMPLES if re.fullmatch(inner, s))]
        index = end + 1
    out.append(piece[index:])
    return "".join(out).replace("\\", "")


def _closing_parenthesis(text: str, start: int) -> int:
    depth = 0
    for index in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[index], 0)
        if depth == 0:
            return index
    raise ValueError(f"unbalanced group in {text!r}")


def _paths(patterns, prefix=""):
    for pattern in patterns:
        piece = str(pattern.pattern)
        piece = (
            _regex(piece) if isinstance(pattern.pattern, RegexPattern) else _route(piece, prefix)
        )
        if isinstance(pattern, URLResolver):
            yield from _paths(pattern.url_patterns, prefix + piece)
        elif isinstance(pattern, URLPattern):
            yield "/" + prefix + piece, pattern.callback


URLS = sorted(set(_paths(get_resolver().url_patterns)), key=lambda found: found[0])
assert len(URLS) > 400, "the walk found too few URL patterns"


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def takes_posted_json(callback) -> bool:
    view = getattr(callback, "cls", None)
    if not (isinstance(view, type) and issubclass(view, APIView) and hasattr(view, "post")):
        return False
    # A multipart upload (a job's file) reads no JSON.
    return any(issubclass(parser, JSONParser) for parser in view.parser_classes)


@pytest.fixture
def superuser(settings, monkeypatch):
    """Staff with every permission; dj-stripe's admin forms ask a fake Stripe, not the network."""
    settings.STRIPE_SECRET_KEY = STRIPE_KEY
    monkeypatch.setattr(stripe, "default_http_client", FakeStripe())
    monkeypatch.setattr(stripe, "max_network_retries", 0)
    own_stripe_account(secret_key=STRIPE_KEY)
    return StaffFactory(is_superuser=True)


def signed_in(user) -> Client:
    """A client for a superuser who passed two-factor: every page and endpoint lets them in."""
    client = Client(raise_request_exception=False, HTTP_IDEMPOTENCY_KEY="malformed-requests")
    return sign_in_staff(client, user)


@pytest.fixture
def client(superuser) -> Client:
    return signed_in(superuser)


def problem(response, path: str, status: int, code: str, page_text: str) -> str | None:
    """What is wrong with the answer, or None when it is the expected error in its shape."""
    if response.status_code != status:
        return f"{path}: {response.status_code}, want {status}"
    if is_api(path):
        body = response.json()
        if body["type"] != "client_error" or body["errors"][0]["code"] != code:
            return f"{path}: {body}"
    elif page_text not in text(response):
        return f"{path}: not the {status} page"
    return None


BAD_REQUEST = "This request could not be understood"
TOO_LARGE = "What you sent is too large"


def test_a_nul_character_in_the_query_is_a_400_everywhere(client):
    problems = [
        problem(client.get(f"{path}?q=%00&%00=x"), path, 400, "parse_error", BAD_REQUEST)
        for path, _ in URLS
    ]

    assert [p for p in problems if p] == []


def test_a_nul_character_in_the_path_is_a_400_everywhere(client):
    problems = [
        problem(client.get(path.rstrip("/") + "%00/"), path, 400, "parse_error", BAD_REQUEST)
        for path, _ in URLS
    ]

    assert [p for p in problems if p] == []


def test_a_nul_character_in_a_form_field_is_a_400_everywhere(client):
    problems = []
    for path, _ in URLS:
        for content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if content_type.startswith("multipart"):
                response = client.post(path, {"field": "a\x00b"})
            else:
                response = client.post(path, "field=a%00b", content_type=content_type)
            problems.append(problem(response, path, 400, "parse_error", BAD_REQUEST))

    assert [p for p in problems if p] == []


@pytest.mark.parametrize(
    "url",
    [
        "/billing/success/?session_id=%00",
        "/billing/success/status/?session_id=%00",
        "/api/v1/admin/wallets?search=%00",
        "/dashboard/history/?text=%00",
    ],
)
def test_the_reported_nul_characters_are_400s(client, url):
    response = client.get(url)

    assert response.status_code == 400
    if is_api(url):
        assert response.json()["errors"][0]["detail"] == (
            "The request contains a NUL character (in the query parameter 'search'), which no "
            "part of a request may hold."
        )


def test_json_nested_5000_levels_is_a_400_on_the_api_and_never_a_500(superuser):
    deep = "[" * 5000 + "]" * 5000
    problems = []
    for path, callback in URLS:
        # Each with a new sign-in: this body reaches the views, and some (sign out, turn off
        # two-factor) act on an empty form.
        response = signed_in(superuser).post(path, deep, content_type="application/json")
        if is_api(path) and takes_posted_json(callback):
            problems.append(problem(response, path, 400, "parse_error", ""))
        elif response.status_code >= 500:
            problems.append(f"{path}: {response.status_code}")

    assert [p for p in problems if p] == []


def test_json_nested_deeper_than_32_levels_is_refused_and_32_are_read(client):
    too_deep = client.post("/api/v1/spends", "[" * 33 + "]" * 33, content_type="application/json")
    deep_enough = client.post(
        "/api/v1/spends", "[" * 32 + "]" * 32, content_type="application/json"
    )

    assert too_deep.status_code == 400
    assert "nested deeper than 32 levels" in too_deep.json()["errors"][0]["detail"]
    assert deep_enough.status_code == 400
    assert deep_enough.json()["type"] == "validation_error"  # read, then refused as no spend


def test_a_body_over_the_upload_limit_is_a_413_everywhere(client):
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    big_json = json.dumps({"amount": 1, "description": "x" * limit})
    big_form = "description=" + "x" * limit
    problems = []
    for path, _ in URLS:
        for body, content_type in [
            (big_json, "application/json"),
            (big_form, "application/x-www-form-urlencoded"),
        ]:
            response = client.post(path, body, content_type=content_type)
            problems.append(problem(response, path, 413, "request_too_large", TOO_LARGE))

    assert [p for p in problems if p] == []


def test_a_multipart_form_over_the_limit_is_a_413_too(client):
    response = client.post("/billing/promo/check/", {"code": "x" * 3_000_000})

    assert response.status_code == 413
    assert TOO_LARGE in text(response)


def test_a_body_just_under_the_limit_is_read(client):
    description = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 100)
    response = client.post(
        "/api/v1/spends",
        json.dumps({"amount": 1, "description": description}),
        content_type="application/json",
    )

    assert response.status_code == 400  # read: the description is longer than 255
    assert response.json()["errors"][0]["attr"] == "description"
