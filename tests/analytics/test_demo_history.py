"""The demo (`manage.py seed_demo`) gives every analytics page something to chart: six months of
history made through the real services, in the order it happened, that the ledger reconciles."""

import io
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.contrib import admin
from django.core.management import call_command
from django.db.models import Min
from django.urls import reverse
from django.utils import timezone

from analytics.admin import ReportPage
from analytics.demo import CUSTOMERS
from billing.models import Purchase, Subscription, SubscriptionInvoice
from credits.models import CreditTransaction
from disputes.models import Dispute
from tests.clients import sign_in_staff
from tests.factories import StaffFactory
from tests.pages import page

pytestmark = pytest.mark.django_db
EMAILS = [f"{name}@creditdesk.test" for name in CUSTOMERS]


def month_start(moment: datetime, back: int = 0) -> datetime:
    index = moment.year * 12 + moment.month - 1 - back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC)


def report_pages() -> list[tuple[str, ReportPage]]:
    """Every analytics page the admin has, the ones added later included."""
    found = [
        (reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist"), page)
        for model, page in admin.site._registry.items()
        if isinstance(page, ReportPage)
    ]
    assert len(found) >= 9  # the nine pages of issue 17
    return found


def drawn_bars(response) -> list[tuple[str, list[int]]]:
    """Each table's caption and the lengths of its chart's bars, as the page draws them."""
    return [
        (
            section.caption.get_text(strip=True),
            [int(bar["width"]) for bar in section.select("svg rect.analytics-bar")],
        )
        for section in page(response).select("section.analytics-table")
        if section.get("data-chart") != "none"  # a table the report draws no chart for
    ]


@pytest.fixture
def seeded(capsys):
    call_command("seed_demo", force=True)
    return capsys.readouterr().out


def test_every_analytics_chart_draws_a_bar_over_the_demo_months(client, seeded):
    sign_in_staff(client, StaffFactory(is_superuser=True))
    now = timezone.now()
    period = {"from": f"{month_start(now, 5):%Y-%m}", "to": f"{now:%Y-%m}"}

    for url, _ in report_pages():
        response = client.get(url, period)

        assert response.status_code == 200, url
        tables = drawn_bars(response)
        assert tables, url
        for caption, bars in tables:
            assert any(length > 0 for length in bars), f"{url}: {caption} draws nothing"
        assert "do not reconcile" not in response.content.decode(), url


def test_each_demo_month_reconciles_on_every_page(client, seeded):
    sign_in_staff(client, StaffFactory(is_superuser=True))
    now = timezone.now()

    for back in range(6):
        for url, _ in report_pages():
            response = client.get(url, {"from": f"{month_start(now, back):%Y-%m}"})
            assert response.status_code == 200, url
            assert "do not reconcile" not in response.content.decode(), (url, back)


def test_the_history_fills_each_of_the_six_months_and_nothing_is_dated_after_now(seeded):
    now = timezone.now()
    mine = CreditTransaction.objects.filter(wallet__user__email__in=EMAILS)

    for back in range(6):
        since, until = month_start(now, back), month_start(now, back - 1)
        in_month = mine.filter(created_at__gte=since, created_at__lt=until)
        assert in_month.filter(kind="spend").exists(), since
        assert (
            Purchase.objects.filter(
                user__email__in=EMAILS, status__in=["paid", "partially_refunded", "refunded"]
            )
            .filter(paid_at__gte=since, paid_at__lt=until)
            .exists()
        ), since
    assert not mine.filter(created_at__gt=now).exists()
    # The kinds of history the pages show, each at least once.
    kinds = set(mine.values_list("kind", flat=True))
    assert {"grant", "spend", "hold", "capture", "release", "refund", "transfer", "expiry"} <= kinds
    assert {"revocation"} <= kinds  # the refund's and the lost chargeback's credits taken back
    dave = Dispute.objects.filter(user__email="dave@creditdesk.test")
    assert sorted(dave.values_list("status", "level")) == [("rejected", 2), ("resolved", 1)]


def test_the_subscriptions_change_plan_cancel_and_come_back(seeded):
    invoices = SubscriptionInvoice.objects.filter(subscription__user__email__in=EMAILS)
    months = invoices.dates("period_start", "month")
    assert len(months) >= 5
    paid = {
        (invoice.subscription.user.email.split("@")[0], invoice.amount)
        for invoice in invoices.select_related("subscription__user")
    }
    # carol: Monthly ($8) then Pro ($20); erin: Pro then Monthly; grace: Yearly ($80).
    assert {("carol", 8), ("carol", 20), ("erin", 20), ("erin", 8), ("grace", 80)} <= {
        (name, int(amount)) for name, amount in paid
    }
    frank = Subscription.objects.filter(user__email="frank@creditdesk.test").order_by("pk")
    assert [s.status for s in frank] == ["canceled", "active"]
    assert frank[0].ended_at < frank[1].invoices.aggregate(Min("period_start"))["period_start__min"]


def test_first_purchases_fall_in_different_months_and_some_buy_again(seeded):
    firsts = (
        Purchase.objects.filter(user__email__in=EMAILS, paid_at__isnull=False)
        .values("user")
        .annotate(first=Min("paid_at"))
    )
    assert len({f"{row['first']:%Y-%m}" for row in firsts}) >= 5
    again = [
        email
        for email in EMAILS
        if Purchase.objects.filter(user__email=email, paid_at__isnull=False)
        .dates("paid_at", "month")
        .count()
        > 1
    ]
    assert len(again) >= 3


def test_each_wallets_history_is_in_the_order_it_happened(seeded):
    """Moments rise with the rows' ids in every customer's wallet: the steps ran in order, not
    re-dated afterwards."""
    for email in EMAILS:
        moments = list(
            CreditTransaction.objects.filter(wallet__user__email=email)
            .order_by("pk")
            .values_list("created_at", flat=True)
        )
        assert moments == sorted(moments), email


def test_the_seeded_ledger_reconciles_and_a_second_seed_changes_nothing(seeded):
    out = io.StringIO()
    call_command("credits_reconcile", stdout=out)
    assert "the ledger is consistent" in out.getvalue()
    assert "Demo history: 9 more users" in seeded
    before = row_counts()

    second = io.StringIO()
    call_command("seed_demo", force=True, stdout=second)

    assert row_counts() == before
    assert "Demo history: already there, left unchanged." in second.getvalue()


def row_counts() -> dict[str, int]:
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


@pytest.mark.parametrize("snapshots", [False, True], ids=["ledger", "snapshots"])
def test_every_page_for_one_month_makes_fewer_than_20_queries(
    client, seeded, django_assert_max_num_queries, snapshots
):
    """The issue's budget on every page (those without a query test of their own too), for last
    month and for this one (the ledger read after the snapshots' end), signing in included; with
    the daily snapshots, as a deployment that runs analytics_rebuild has them, and without."""
    if snapshots:
        call_command("analytics_rebuild", stdout=io.StringIO())
    sign_in_staff(client, StaffFactory(is_superuser=True))
    now = timezone.now()
    for url, _ in report_pages():
        for back in (1, 0):
            with django_assert_max_num_queries(19):
                response = client.get(url, {"from": f"{month_start(now, back):%Y-%m}"})
            assert response.status_code == 200, url
