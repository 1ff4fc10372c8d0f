"""Every URL pattern of the site, requested with GET by a visitor, a signed-in user and a staff
member (one walk each, as the site has about 500 patterns):

- no response may be kept by a browser or proxy cache (`Cache-Control: no-store`): pages and API
  responses show balances; static files (whitenoise) are checked in tests/test_serving_headers.py;
- every response carries the Content-Security-Policy, and no page has what the policy refuses:
  an inline <script> or <style>, a style attribute, an on* handler (the browser test,
  tests/e2e/test_content_security_policy.py, also sees what scripts add);
- a GET writes nothing to the database (a cross-site <img> can send one, with the user's
  cookies): every statement the request runs is read, and every table is compared before and
  after the walk. Only the session table may change (a page may consume a flash message).
"""

import re

import pytest
from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.urls import resolve

from tests.billing.conftest import fake_stripe, stripe_keys  # noqa: F401 (fixtures)
from tests.clients import sign_in_staff
from tests.factories import StaffFactory, UserFactory
from tests.routes import World, routes

pytestmark = pytest.mark.django_db

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self' https://checkout.stripe.com https://billing.stripe.com",
    "frame-ancestors": "'none'",
}
# The table a statement writes, wherever the write sits (PostgreSQL's ledger writes are CTEs).
WRITE = re.compile(
    r'(?:INSERT\s+INTO|DELETE\s+FROM|(?<!FOR )UPDATE)\s+"?(\w+)"?(?:\s+AS\s+\w+)?[\s(]', re.I
)
MAY_WRITE = {Session._meta.db_table}
# What the policy refuses in a page; <script type="application/json"> is data, not a script.
INLINE = re.compile(
    r"<script(?![^>]*(?:\bsrc=|\btype=\"application/json\"))[^>]*>"
    r"|<style\b|\s(?:style|on[a-z]+)\s*=\s*[\"']",
    re.I,
)


@pytest.fixture
def world(fake_stripe):  # noqa: F811 (the fixture imported above)
    world = World(UserFactory())
    fake_stripe.add(*world.stripe_objects)
    return world


@pytest.fixture(params=["visitor", "user", "staff"])
def client_as(request, world):
    client = Client(raise_request_exception=False)
    if request.param == "user":
        client.force_login(world.user)
    elif request.param == "staff":
        sign_in_staff(client, StaffFactory())
    return client


def policy(header: str) -> dict[str, str]:
    directives = (part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    return {name: value for name, value in directives}


def every_table() -> dict[str, list]:
    return {
        model._meta.db_table: list(model._base_manager.order_by("pk").values_list())
        for model in apps.get_models()
        if model._meta.db_table not in MAY_WRITE and model._meta.managed
    }


def test_every_route_has_an_address(world):
    for route in routes():
        address = world.address(route)
        assert resolve(address.split("?")[0]).func == route.callback, (route.pattern, address)


def test_every_get_is_uncached_under_the_policy_and_writes_nothing(client_as, world):
    problems = {"may be stored": [], "no policy": [], "inline": [], "writes": []}
    written: list[str] = []

    def record_writes(execute, sql, params, many, context):
        written.extend(table for table in WRITE.findall(sql) if table not in MAY_WRITE)
        return execute(sql, params, many, context)

    before = every_table()
    for route in routes():
        address = world.address(route)
        written.clear()
        with connection.execute_wrapper(record_writes):
            response = client_as.get(address)
        seen = f"{address} ({response.status_code})"
        if "no-store" not in response.get("Cache-Control", ""):
            problems["may be stored"].append(f"{seen}: {response.get('Cache-Control')}")
        if policy(response.get("Content-Security-Policy", "")) != POLICY:
            problems["no policy"].append(f"{seen}: {response.get('Content-Security-Policy')}")
        if response.get("Content-Type", "").startswith("text/html"):
            found = INLINE.findall(response.content.decode())
            problems["inline"] += [f"{seen}: {inline}" for inline in found]
        if written:
            problems["writes"].append(f"{seen}: {', '.join(sorted(set(written)))}")
    after = every_table()

    changed = sorted(table for table in before if before[table] != after[table])
    assert problems == {"may be stored": [], "no policy": [], "inline": [], "writes": []}
    assert changed == []


# Addresses for programs, which answer an error in their own shape, not with a page: the API's,
# and OpenID Connect's userinfo (RFC 6750's Bearer challenge).
PROGRAMS = ("/api/", "/o/userinfo/")


def test_every_page_a_browser_cannot_open_says_why_in_the_base_layout(client_as, world):
    """A GET that a page answers with an error (405 on a POST-only address, 403, 404) shows the
    site's page, never a blank one or Django's."""
    blank, refused = [], []
    for route in routes():
        address = world.address(route)
        if address.startswith(PROGRAMS):
            continue
        response = client_as.get(address)
        if response.status_code < 400:
            continue
        refused.append(response.status_code)
        if '<main id="main"' not in response.content.decode():
            blank.append(f"{address} ({response.status_code})")

    assert blank == []
    assert 405 in refused
