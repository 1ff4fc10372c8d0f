"""In headless Chromium: every page holds its shape. With a 5,000-character word in every text a
person types (a description, a reason, a message, a name), no page is wider than the window, at
1280 px (a laptop) nor at 375 px (a phone); on a phone every table's rows stack, so Amount and
Balance stay in view; the dashboard's chart shows a month's figures on focus; the dispute queue
fits a laptop and speaks to staff; sending a dispute message moves the focus to it.

The pages are every URL pattern that answers a GET with HTML (tests/routes.py), as in
test_content_security_policy.py, so a page added later is measured without changing this test.
"""

import re
import shutil

import pytest
from django.db import connection
from django.test import Client

from accounts import services as accounts
from credits import services
from disputes import services as disputes
from tests.billing.conftest import fake_stripe, stripe_keys  # noqa: F401 (fixtures)
from tests.clients import sign_in_staff
from tests.credits.conftest import ACTOR, key
from tests.e2e.conftest import accessibility_violations, session_client, session_context
from tests.e2e.test_content_security_policy import (
    admin_page,
    html_pages,
    sign_in,
    site_page,
    world,  # noqa: F401 (a fixture)
)
from tests.factories import StaffFactory, UserFactory

pytestmark = [
    pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed"),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="a live server needs transactional tests, whose SQLite flush the ledger's "
        "append-only triggers refuse; runs on PostgreSQL (DATABASE_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]

LAPTOP, PHONE = 1280, 375
WORD = 5000


def word(length: int = WORD) -> str:
    """One word without a break opportunity: what a paste of a token or a URL looks like."""
    return ("Supercalifragilistic" * (length // 20 + 1))[:length]


def fill_with_long_words(world) -> str:  # noqa: F811 (not the fixture: its value)
    """Every text of `world` that a person typed, as long a word as its field takes; the address
    of a rejected dispute, whose page shows the reason."""
    user, staff = world.user, StaffFactory(name=word(150))
    user.name = word(150)
    user.save(update_fields=["name"])
    world.purchase.package.name = word(100)
    world.purchase.package.description = word()
    world.purchase.package.save(update_fields=["name", "description"])
    accounts.create_api_token(user=user, name=word(100))
    wallet = user.wallet
    services.hold(
        wallet=wallet, amount=5, description=word(255), actor=ACTOR, idempotency_key=key()
    )
    disputes.post_message(dispute=world.dispute, author=user, body=word(4000))
    disputes.post_message(dispute=world.dispute, author=staff, body=word(4000))
    spend = services.spend(
        wallet=wallet, amount=5, description=word(255), actor=ACTOR, idempotency_key=key()
    )
    rejected = disputes.open_dispute(
        user=user, txn=spend, reason="not_delivered", description=word(), amount=5
    )
    disputes.reject(dispute=rejected, staff=staff, reason=word())
    return f"/disputes/{rejected.pk}/"


def long_worded_jobs(world, staff) -> list[str]:  # noqa: F811 (not the fixture: its value)
    """A draft and a delivered job of `world.user` with the longest word each text takes, and
    the addresses of their pages: every detail tab and every section of the draft."""
    from datetime import timedelta

    from django.utils import timezone

    from jobs import services as jobs
    from tests.credits.conftest import fund

    user, due = world.user, timezone.now().date() + timedelta(days=9)
    texts = {"summary": word(), "scope": word(), "style_notes": word(), "references": word()}
    texts |= {"company": word(200), "audience": word(500), "colours": word(500)}
    plans = [jobs.MilestonePlan(title=word(200), due_date=due, amount=5, description=word())]
    draft = jobs.create_draft(client=user, title=word(200), budget=5, **texts)
    jobs.plan_milestones(job=draft, by=user, milestones=plans)
    jobs.add_link(job=draft, by=user, label=word(200), url=f"https://example.com/{word(1900)}")
    live = jobs.create_draft(client=user, title=word(200), budget=5, **texts)
    jobs.plan_milestones(job=live, by=user, milestones=plans)
    fund(user.wallet, 5)
    jobs.submit(job=live, by=user)
    milestone = live.milestones.get()
    link = [(word(200), f"https://example.com/{word(1900)}")]
    jobs.deliver(milestone=milestone, by=staff, message=word(), links=link)
    jobs.request_changes(milestone=milestone, by=user, reason=word(2000))
    jobs.deliver(milestone=milestone, by=staff, message=word(), links=link)
    tabs = ("overview", "planning", "financial", "files", "links", "activity")
    sections = ("basic", "business", "project", "branding", "planning", "financial", "links")
    return [
        *(f"/jobs/{live.pk}/?tab={tab}" for tab in tabs),
        *(f"/jobs/{draft.pk}/edit/{section}/" for section in (*sections, "review")),
        "/jobs/",
    ]


def too_wide(page, addresses: list[str], width: int) -> list[str]:
    """The addresses whose page is wider than a `width`-px window, with their width."""
    page.set_viewport_size({"width": width, "height": 900})
    found = []
    for address in addresses:
        page.goto(address)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        if scroll_width > width:
            found.append(f"{address}: {scroll_width} px at {width} px")
    return found


def hidden_cells(page, addresses: list[str]) -> list[str]:
    """On a phone: table cells that are out of the window, or not labelled by their column's
    heading (a stacked row's cell says what it is)."""
    page.set_viewport_size({"width": PHONE, "height": 900})
    found = []
    for address in addresses:
        page.goto(address)
        found += page.evaluate(
            """(width) => [...document.querySelectorAll("main table:not(details table) tbody td,"
                + " details[open] table tbody td")].flatMap((cell) => {
              const box = cell.getBoundingClientRect();
              const where = `${location.pathname} ${cell.dataset.label || "(no label)"}`;
              return box.left < 0 || box.right > width ? [`${where}: ${box.right} px`] : [];
            })""",
            PHONE,
        )
    return found


def test_every_page_fits_a_laptop_and_a_phone_with_a_5000_character_word(
    live_server,
    browser,
    settings,
    world,  # noqa: F811 (the fixture imported above)
):
    settings.SECURE_SSL_REDIRECT = False
    rejected = fill_with_long_words(world)
    jobs_pages = long_worded_jobs(world, StaffFactory())
    context = browser.new_context(base_url=live_server.url)
    sign_in(context, world.user.email)
    pages = [*html_pages(session_client(context), world, site_page), rejected, *jobs_pages]
    page = context.new_page()

    assert too_wide(page, pages, LAPTOP) == []
    assert too_wide(page, pages, PHONE) == []
    assert hidden_cells(page, pages) == []
    context.close()

    staff = sign_in_staff(Client(raise_request_exception=False), StaffFactory())
    context = session_context(browser, live_server.url, staff)
    admin_pages = html_pages(staff, world, admin_page)
    assert too_wide(context.new_page(), admin_pages, LAPTOP) == []
    context.close()
    assert {"/dashboard/", "/dashboard/history/", "/billing/purchases/"} <= set(pages)
    assert len(admin_pages) > 40


def test_on_a_phone_a_movement_shows_its_amount_and_balance_on_one_line_each(
    live_server, browser, settings
):
    settings.SECURE_SSL_REDIRECT = False
    user = UserFactory(email="alice@example.com")
    services.grant(
        wallet=user.wallet, amount=1_000_001_420, source="admin", actor=ACTOR, idempotency_key=key()
    )
    context = browser.new_context(base_url=live_server.url)
    sign_in(context, user.email)
    page = context.new_page()
    page.set_viewport_size({"width": PHONE, "height": 900})
    page.goto("/dashboard/history/")

    row = page.locator("main table tbody tr").first
    lines = {}
    for label in ("Date (UTC)", "Amount", "Balance"):
        cell = row.locator(f'td[data-label="{label}"]')
        box = cell.bounding_box()
        line_height = float(cell.evaluate("(c) => getComputedStyle(c).lineHeight")[:-2])
        lines[label] = round(box["height"] / line_height)
        assert box["x"] >= 0, label
        assert box["x"] + box["width"] <= PHONE, label
    assert lines == {"Date (UTC)": 1, "Amount": 1, "Balance": 1}
    balance = row.locator('td[data-label="Balance"]')
    assert balance.inner_text() == "1,000,001,420"
    assert balance.evaluate("(c) => getComputedStyle(c, '::before').content") == '"Balance"'
    assert accessibility_violations(page) == []
    context.close()


def test_the_chart_shows_a_months_figures_on_focus_beside_a_scale(live_server, browser, settings):
    settings.SECURE_SSL_REDIRECT = False
    user = UserFactory(email="alice@example.com")
    services.grant(
        wallet=user.wallet, amount=1200, source="admin", actor=ACTOR, idempotency_key=key()
    )
    context = browser.new_context(base_url=live_server.url)
    sign_in(context, user.email)
    page = context.new_page()
    page.goto("/dashboard/")

    months = page.locator("figure.chart g.chart-month")
    assert months.count() == 12
    this_month = months.last  # oldest first: this month is on the right, as in the cards
    assert not this_month.locator(".chart-value").is_visible()
    this_month.focus()
    assert this_month.locator(".chart-value").is_visible()
    assert "1,200 credits in, 0 out" in this_month.locator(".chart-value").text_content()
    axis = page.locator("figure.chart .chart-axis").text_content()
    assert "Credits" in axis
    assert "Month" in axis
    assert "2,000" in axis
    page.get_by_text("The chart's figures as a table").click()
    assert page.locator("details.chart-table tbody tr").last.inner_text().split("\t")[1:] == [
        "1,200",
        "0",
    ]
    cards = page.locator(".months .month h3").all_inner_texts()
    assert cards[-1] == months.last.locator(".chart-value").text_content().split(":")[0]
    assert accessibility_violations(page) == []
    context.close()


def test_the_dispute_queue_fits_a_laptop_and_offers_staff_only(
    live_server,
    browser,
    settings,
    world,  # noqa: F811 (the fixture imported above)
):
    settings.SECURE_SSL_REDIRECT = False
    fill_with_long_words(world)
    disputes.request_information(dispute=world.dispute, staff=StaffFactory(), question="Which?")
    UserFactory(email="not-staff@example.com")
    staff = StaffFactory(email="s@example.com")
    staff = sign_in_staff(Client(raise_request_exception=False), staff)
    context = session_context(browser, live_server.url, staff)
    page = context.new_page()
    page.set_viewport_size({"width": LAPTOP, "height": 900})
    page.goto("/admin/disputes/dispute/")

    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP
    table = page.locator("#result_list")
    box = table.bounding_box()
    assert box["x"] + box["width"] <= LAPTOP
    assert "Waiting for the user" in table.inner_text()
    assert "Waiting for your reply" not in page.locator("#content").inner_text()
    assignees = page.locator("#changelist-filter").inner_text()
    assert "s@example.com" in assignees
    assert "not-staff@example.com" not in assignees
    assert accessibility_violations(page) == []
    context.close()


def test_sending_a_dispute_message_moves_the_focus_to_it(
    live_server,
    browser,
    settings,
    world,  # noqa: F811 (the fixture imported above)
):
    settings.SECURE_SSL_REDIRECT = False
    context = browser.new_context(base_url=live_server.url)
    sign_in(context, world.user.email)
    page = context.new_page()
    page.goto(f"/disputes/{world.dispute.pk}/")

    page.get_by_label("Your message").fill("Any news?")
    page.get_by_role("button", name="Send").press("Enter")
    page.locator(".thread-message", has_text="Any news?").wait_for()
    # (A locator, not wait_for_function: that evaluates a string, which the policy refuses.)
    focused = page.locator(".thread-message:focus")
    focused.wait_for()
    assert focused.inner_text().endswith("Any news?")
    assert page.locator("#thread [role=status]").inner_text() == "Message sent."

    assert re.search(rf"/disputes/{world.dispute.pk}/$", page.url)
    context.close()
