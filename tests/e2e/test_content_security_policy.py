"""In headless Chromium, every page of the site under its Content-Security-Policy: a visitor's,
a signed-in user's, the admin's for a staff member, and the API documentation (Swagger UI). The
browser reports no policy violation, no console error and no uncaught error on any of them, axe
finds nothing serious, and what runs through htmx (a promo code, a dispute message) and Stripe
Checkout (there and back) still works.

"Every page" is every URL pattern (tests/routes.py) that answers a GET with an HTML page, so a
page added later is visited without changing this test. The admin's pages are those of the
models of our apps, Django's and allauth's, and one of dj-stripe's (its 40 others are the same
templates).
"""

import re
import shutil

import pytest
from django.db import connection
from django.test import Client

from billing.models import Purchase
from tests.billing.conftest import fake_stripe, stripe_keys  # noqa: F401 (fixtures)
from tests.clients import sign_in_staff
from tests.e2e.conftest import accessibility_violations, session_client, session_context, watch
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from tests.routes import World, routes

pytestmark = [
    pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a live server needs transactional tests, whose SQLite flush the ledger's "
        "append-only triggers refuse; runs on PostgreSQL (DATABASE_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]

ADMIN_APPS = {"accounts", "credits", "billing", "disputes", "auth", "account", "mfa"}
# dj-stripe's admin: one model for its 40 alike, and the webhook endpoint, whose pages differ.
DJSTRIPE_MODELS = {("djstripe", "customer"), ("djstripe", "webhookendpoint")}
STRIPE_CHECKOUT = "https://checkout.stripe.com"


def is_admin(route) -> bool:
    return route.name.startswith("admin:")


def admin_page(route) -> bool:
    model = route.admin_model
    return is_admin(route) and (model is None or model[0] in ADMIN_APPS or model in DJSTRIPE_MODELS)


def site_page(route) -> bool:
    return not is_admin(route) and not route.pattern.startswith(("api/v1/", "stripe/"))


def html_pages(client: Client, world: World, which) -> list[str]:
    """The addresses among `routes()` that answer this client's GET with a page of HTML.

    The admin's history and delete pages are one template each, whatever the model: the first
    of each kind stands for the rest.
    """
    pages, kinds = [], set()
    for route in filter(which, routes()):
        kind = route.pattern.rsplit("/", 2)[-2] if is_admin(route) else route.pattern
        if kind in ("history", "delete") and kind in kinds:
            continue
        address = world.address(route)
        response = client.get(address)
        html = response["Content-Type"].startswith("text/html")
        # A page, not a fragment htmx swaps into one (/billing/success/status/).
        if response.status_code == 200 and html and b"<html" in response.content:
            pages.append(address)
            kinds.add(kind)
    return pages


def sign_in(context, email: str) -> None:
    page = context.new_page()
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(re.compile(r"/dashboard/"))
    # Two-factor enrolment asks for the password again first.
    page.goto("/accounts/2fa/totp/activate/")
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    page.close()


def tour(context, addresses: list[str]) -> list[str]:
    """Open each address in one tab; axe's serious and critical findings on each."""
    page = context.new_page()
    found = []
    for address in addresses:
        response = page.goto(address)
        assert (response.status, response.url) == (200, page.url), address
        assert page.url.endswith(address), f"{address} went to {page.url}"
        found += accessibility_violations(page)
    page.close()
    return found


@pytest.fixture
def world(fake_stripe, monkeypatch):  # noqa: F811 (the fixture imported above)
    """As tests/routes.World, with Stripe's Checkout at its real address (the fake's is
    checkout.stripe.test), so the policy's form-action is tested against it."""
    create = fake_stripe._create

    def create_at_stripe(path, params):
        created = create(path, params)
        if path == "/v1/checkout/sessions":
            created["url"] = f"{STRIPE_CHECKOUT}/c/pay/{created['id']}"
        return created

    monkeypatch.setattr(fake_stripe, "_create", create_at_stripe)
    world = World(UserFactory(email="alice@example.com"))
    fake_stripe.add(*world.stripe_objects)
    world.fake_stripe = fake_stripe
    return world


def test_every_page_keeps_to_the_content_security_policy(live_server, browser, settings, world):
    settings.SECURE_SSL_REDIRECT = False
    base = live_server.url
    # Links that leave the site (Stripe's return pages, e-mails) come back to the live server.
    settings.SITE_URL = base
    problems, inaccessible = [], []

    visitor = Client(raise_request_exception=False)
    context = browser.new_context(base_url=base)
    watch(context, problems)
    inaccessible += tour(context, html_pages(visitor, world, site_page))
    context.close()

    # The user signs in through the sign-in page, so pages that need a recent sign-in (two-factor
    # enrolment, with its QR code) are pages too; the test client shares the browser's session.
    context = browser.new_context(base_url=base)
    watch(context, problems)
    sign_in(context, world.user.email)
    pages = html_pages(session_client(context), world, site_page)
    inaccessible += tour(context, pages)
    use_htmx_and_stripe_checkout(context, world)
    context.close()

    staff = sign_in_staff(Client(raise_request_exception=False), StaffFactory())
    context = session_context(browser, base, staff)
    watch(context, problems)
    admin_pages = html_pages(staff, world, admin_page)
    inaccessible += tour(context, admin_pages)
    inaccessible += confirm_a_stripe_action(context)
    context.close()

    assert {"/api/docs/", "/accounts/2fa/totp/activate/", "/dashboard/"} <= set(pages)
    assert len(admin_pages) > 40, admin_pages
    assert problems == []
    assert inaccessible == []


def use_htmx_and_stripe_checkout(context, world) -> None:
    page = context.new_page()

    # Swagger UI draws the schema (its start-up script is a file: /api/docs/?script).
    page.goto("/api/docs/")
    page.get_by_role("heading", name=re.compile("CreditDesk API")).wait_for()
    page.get_by_text("/api/v1/wallet", exact=True).first.wait_for()

    # htmx: a promo code checked in place, a message added to a dispute's thread.
    page.goto("/billing/")
    page.get_by_role("textbox", name="Promo code").fill("SPRING")
    page.get_by_role("button", name="Apply code").click()
    page.locator("#promo-result").get_by_text("SPRING").wait_for()
    assert page.url.endswith("/billing/")

    page.goto(f"/disputes/{world.dispute.pk}/")
    page.get_by_label("Your message").fill("Any news?")
    page.get_by_role("button", name="Send").click()
    page.get_by_text("Any news?").wait_for()
    assert page.url.endswith(f"/disputes/{world.dispute.pk}/")

    # Buying posts to us; our 303 sends the browser to Stripe, which the policy's form-action
    # must allow (Chromium checks a form's redirects too). Stripe's page is played by the test,
    # and its "back" link returns to the cancel page, whose button cancels with a POST.
    def stripe_checkout(route):
        cancel_url = world.fake_stripe.posted("/v1/checkout/sessions")[-1]["cancel_url"]
        route.fulfill(
            content_type="text/html",
            body=f'<!DOCTYPE html><title>Stripe</title><a href="{cancel_url}">Back</a>',
        )

    context.route(f"{STRIPE_CHECKOUT}/**", stripe_checkout)
    page.goto("/billing/")
    page.get_by_role("button", name="Buy Standard").click()
    page.wait_for_url(f"{STRIPE_CHECKOUT}/c/pay/*")
    page.get_by_role("link", name="Back").click()
    page.wait_for_url(re.compile(r"/billing/cancel/\?purchase=\d+"))
    purchase = Purchase.objects.filter(stripe_checkout_session_id__startswith="cs_fake").get()
    assert purchase.status == "pending"  # the GET changed nothing
    page.get_by_role("button", name="Cancel this checkout").click()
    page.get_by_text("Checkout cancelled: nothing was charged.").wait_for()
    purchase.refresh_from_db()
    assert purchase.status == "expired"
    page.close()


def confirm_a_stripe_action(context) -> list[str]:
    """dj-stripe's confirmation page (templates/djstripe/admin/confirm_action.html) answers an
    admin action's POST, so no GET in the tour reaches it; axe's findings on it."""
    page = context.new_page()
    page.goto("/admin/djstripe/customer/")
    page.get_by_role("combobox", name="Action").select_option("_sync_all_instances")
    page.get_by_role("button", name="Go").click()
    page.get_by_role("heading", name="Are you Sure?").wait_for()
    assert page.locator("#div_spinner").is_hidden()
    found = accessibility_violations(page)
    page.close()
    return found
