"""Numbers read one way everywhere: every template shows them through the `figure` filter
(core/figures.py), with thousands separators and money in its currency's symbol; and every table
of the site labels its cells with their column's heading, which a phone's stacked rows show
(creditdesk.css). Both are checked on every page of the site, so a page added later is too."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.template import Context, Template
from django.test import Client

from billing.models import CreditPackage, Purchase
from credits import services
from tests.billing.conftest import fake_stripe, stripe_keys  # noqa: F401 (fixtures)
from tests.credits.conftest import ACTOR, key
from tests.factories import UserFactory
from tests.pages import page
from tests.routes import World, routes

pytestmark = pytest.mark.django_db

# A count of five or more digits written without separators (a date's year has four).
UNSEPARATED = re.compile(r"(?<![\d,.#])\d{5,}(?![\d,])")
AD_HOC = re.compile(r"\|\s*(stringformat|floatformat|intcomma|intword|money|per_credit)\b")


def render(source: str, **context) -> str:
    return Template(source).render(Context(context))


@pytest.mark.parametrize(
    ("source", "value", "shown"),
    [
        ("{{ v|figure }}", 1_000_001_420, "1,000,001,420"),
        ("{{ v|figure }}", 0, "0"),
        ("{{ v|figure }}", None, "—"),
        ('{{ v|figure:"+" }}', 1200, "+1,200"),
        ('{{ v|figure:"+" }}', -50, "-50"),
        ('{{ v|figure:"usd" }}', Decimal("5.00"), "$5.00"),
        ('{{ v|figure:"eur" }}', Decimal("1234.5"), "€1,234.50"),
        ('{{ v|figure:"gbp" }}', Decimal("-5"), "-£5.00"),
        ('{{ v|figure:"jpy" }}', Decimal("500.00"), "¥500"),
        ('{{ v|figure:"chf" }}', Decimal("5.00"), "CHF 5.00"),
        ('{{ v|figure:"XYZ" }}', Decimal("5"), "XYZ 5.00"),
        # A price per credit keeps the places it was computed to.
        ('{{ v|figure:"usd" }}', Decimal("0.0083"), "$0.0083"),
    ],
)
def test_the_figure_filter_writes_numbers_and_money_as_english_does(source, value, shown):
    assert render(source, v=value) == shown


def test_no_template_formats_a_number_its_own_way():
    roots = [Path(settings.BASE_DIR) / "templates"]
    roots += Path(settings.BASE_DIR).glob("*/templates")
    found = [
        f"{path.relative_to(settings.BASE_DIR)}: {match[0]}"
        for root in roots
        for path in root.rglob("*.html")
        for match in AD_HOC.finditer(path.read_text())
    ]
    assert found == []


@pytest.fixture
def site_pages(fake_stripe):  # noqa: F811 (the fixture imported above)
    """Every page of the site (not the admin's, not the API's) a signed-in user opens, with
    figures in the millions: the wallet, a purchase, a package."""
    world = World(UserFactory())
    fake_stripe.add(*world.stripe_objects)
    services.grant(
        wallet=world.user.wallet,
        amount=1_000_001_420,
        source="admin",
        actor=ACTOR,
        idempotency_key=key(),
    )
    package = CreditPackage.objects.create(
        name="Huge", credits=250_000, price="12345.60", stripe_price_id="price_huge"
    )
    Purchase.objects.create(
        user=world.user,
        package=package,
        amount=package.price,
        currency="eur",
        credits=package.credits,
        stripe_checkout_session_id="cs_huge",
        status="paid",
    )
    client = Client(raise_request_exception=False)
    client.force_login(world.user)
    found = {}
    for route in routes():
        if route.name.startswith("admin:") or route.pattern.startswith(("api/", "stripe/")):
            continue
        address = world.address(route)
        response = client.get(address)
        # A download (a job's file) streams: it is no page.
        if response.status_code == 200 and not response.streaming and b"<html" in response.content:
            found[address] = page(response)
    assert {"/dashboard/", "/dashboard/history/", "/billing/purchases/", "/billing/"} <= set(found)
    return found


def test_every_page_writes_large_figures_with_separators(site_pages):
    unseparated = {}
    for address, soup in site_pages.items():
        for secret in soup.find_all(["code", "script", "style"]):
            secret.decompose()  # token prefixes and secrets are codes, not numbers
        text = " ".join(soup.get_text(" ").split())
        if found := UNSEPARATED.findall(text):
            unseparated[address] = found
    assert unseparated == {}
    assert "1,000,002," in " ".join(site_pages["/dashboard/"].get_text(" ").split())
    purchases = " ".join(site_pages["/billing/purchases/"].get_text(" ").split())
    assert "€12,345.60" in purchases
    assert "250,000" in purchases


def test_every_table_labels_each_cell_with_its_columns_heading(site_pages):
    unlabelled = []
    for address, soup in site_pages.items():
        for table in soup.select("main table"):
            headings = [th.get_text(" ", strip=True) for th in table.select("thead th")]
            for row in table.select("tbody tr"):
                for heading, cell in zip(headings, row.find_all(["td", "th"]), strict=True):
                    if cell.get("data-label") != heading:
                        unlabelled.append(f"{address}: {cell.get('data-label')!r} ≠ {heading!r}")
    assert unlabelled == []
    assert site_pages["/dashboard/history/"].select('td[data-label="Balance"]')
