"""Money per currency: revenue from Stripe's payments (a refund or a lost chargeback counts in
its own month), and the deferred revenue roll-forward, which closes to the minor unit in every
month over a ledger of awkward cost bases, equals an independent sum, and gives the same
figures for a month whichever range it is shown in."""

import csv
import io
import json
import random
from contextlib import suppress
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from analytics import front, money
from analytics.periods import month, months
from billing.models import MoneyBack
from credits import services
from credits.errors import CreditRefusal
from credits.models import CreditGrant
from tests.analytics.test_credits_flow import at, sql, stored
from tests.analytics.test_pages import analyst
from tests.analytics.test_subscriptions import Stripe
from tests.billing.conftest import (  # noqa: F401 (fixtures)
    buyer,
    charge_object,
    dispute_object,
    endpoint,
    fake_stripe,
    invoice_object,
    make_buyer,
    make_pack,
    make_plan,
    pending_purchase,
    session_object,
    stripe_keys,
    webhooks,
)
from tests.credits.conftest import ACTOR, key
from tests.factories import StaffFactory, UserFactory
from tests.pages import accessibility_problems, page, text

Source = CreditGrant.Source
MONTHS = ["2031-01", "2031-02", "2031-03", "2031-04"]
# Bases whose products land on half a cent, and one a third: rounding shows if it can.
BASES = [Decimal("0.00833333"), Decimal("0.005"), Decimal("0.0125"), Decimal("0.07")]
TAKES = "('spend', 'capture', 'expiry', 'revocation', 'adjustment', 'transfer')"


def owed_at(moment: datetime, currency: str) -> tuple[int, Decimal]:
    """The liability at `moment` by a sum written here: per paid grant, its amount less the
    allocations that took from it plus those that gave back, rounded half-even once per grant."""
    query = (
        "SELECT g.amount - COALESCE(SUM(CASE WHEN t.kind IN " + TAKES + " THEN a.amount "
        "WHEN t.kind = 'refund' THEN -a.amount ELSE 0 END), 0), g.cost_basis "
        "FROM credits_creditgrant g "
        "LEFT JOIN credits_allocation a ON a.grant_id = g.id AND a.transaction_id IN "
        "  (SELECT id FROM credits_credittransaction WHERE created_at < %s) "
        "LEFT JOIN credits_credittransaction t ON t.id = a.transaction_id "
        "WHERE g.cost_basis IS NOT NULL AND g.currency = %s AND g.created_at < %s "
        "GROUP BY g.id, g.amount, g.cost_basis"
    )
    with connection.cursor() as cursor:
        cursor.execute(query, stored([moment, currency, moment]))
        rows = cursor.fetchall()
    credits = sum(owed for owed, _ in rows)
    cents = sum(
        (Decimal(owed) * Decimal(str(basis))).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
        for owed, basis in rows
    )
    return credits, cents


def allocated(kinds: str, name: str, currency: str) -> int:
    since, until = month(name)
    return sql(
        "SELECT SUM(a.amount) FROM credits_allocation a "
        "JOIN credits_credittransaction t ON t.id = a.transaction_id "
        "JOIN credits_creditgrant g ON g.id = a.grant_id "
        f"WHERE t.kind IN {kinds} AND g.cost_basis IS NOT NULL AND g.currency = %s "
        "AND t.created_at >= %s AND t.created_at < %s",
        currency,
        since,
        until,
    )


def random_step(rng: random.Random, wallets: list, spends: list) -> None:
    """One random movement; one the ledger refuses (not enough credits) changes nothing."""
    wallet, other = rng.sample(wallets, 2)
    step = rng.randrange(9)
    common = {"actor": ACTOR, "idempotency_key": key()}
    with suppress(CreditRefusal):
        if step <= 1:
            services.grant(
                wallet=wallet,
                amount=rng.randrange(1, 60),
                source=Source.PURCHASE,
                cost_basis=rng.choice(BASES),
                currency=rng.choice(["usd", "usd", "eur"]),
                expires_at=datetime.now(UTC) + timedelta(days=rng.randrange(5, 50)),
                **common,
            )
        elif step == 2:
            services.grant(wallet=wallet, amount=7, source=Source.PROMOTION, **common)
        elif step == 3:
            spends.append(services.spend(wallet=wallet, amount=rng.randrange(1, 25), **common))
        elif step == 4:
            held = services.hold(wallet=wallet, amount=rng.randrange(2, 20), **common).hold
            if rng.random() < 0.6:
                services.capture(
                    hold=held, amount=held.amount // 2, actor=ACTOR, idempotency_key=key()
                )
            else:
                services.release(hold=held, actor=ACTOR, idempotency_key=key())
        elif step == 5:
            services.transfer(sender=wallet, receiver=other, amount=rng.randrange(1, 15), **common)
        elif step == 6 and spends:
            services.refund(transaction=rng.choice(spends), amount=1, **common)
        elif step == 7:
            grant = wallet.grants.filter(remaining__gt=0).order_by("pk").last()
            if grant is not None:
                services.revoke(grant=grant, amount=1, reason="refunded", **common)
        else:
            services.adjust(wallet=wallet, amount=3, reason="correction", **common)


@pytest.fixture
def awkward_ledger(db):
    """Four months of random purchases at awkward bases in two currencies, spends, holds
    captured or released, transfers, refunds, take-backs, deductions and expiries."""
    rng = random.Random(17)
    wallets = [UserFactory().wallet for _ in range(3)]
    keeper = UserFactory().wallet  # never spends: its grants' ties decide the rounding rule
    spends = []
    for name in MONTHS:
        with at(f"{name}-01T00:00"):
            for amount, basis in ((41, "0.005"), (2, "0.0125")):  # $0.205 and $0.025
                services.grant(
                    wallet=keeper, amount=amount, source=Source.PURCHASE,
                    cost_basis=Decimal(basis), currency="usd", actor=ACTOR, idempotency_key=key(),
                )  # fmt: skip
        for day in range(1, 26):
            with at(f"{name}-{day:02d}T{rng.randrange(24):02d}:00"):
                random_step(rng, wallets, spends)
            with at(f"{name}-{day:02d}T23:59"):
                services.expire_due_grants()
    return wallets


@pytest.mark.parametrize("currency", ["usd", "eur"])
def test_the_roll_forward_closes_every_month_and_equals_an_independent_sum(
    awkward_ledger, currency
):
    with at("2031-06-01T00:00"):
        for name in MONTHS:
            since, until = month(name)
            deferred = money.deferred_revenue(months(name), currency)
            assert deferred.closes, deferred.report().problems
            opening, closing = owed_at(since, currency), owed_at(until, currency)
            assert (deferred.opening.credits, deferred.opening.money) == opening
            assert (deferred.closing.credits, deferred.closing.money) == closing
            lines = deferred.lines
            assert lines["recognised"].credits == -allocated("('spend', 'capture')", name, currency)
            assert lines["breakage"].credits == -allocated("('expiry')", name, currency)
            taken = allocated("('revocation', 'adjustment')", name, currency)
            assert lines["taken_back"].credits == -taken
            assert lines["given_back"].credits >= allocated("('refund')", name, currency)
    # The ledger moved in every way in the months measured: the test would see a wrong line.
    assert sum(allocated("('expiry')", name, "usd") for name in MONTHS) > 0
    assert sum(allocated("('spend', 'capture')", name, "usd") for name in MONTHS) > 0


def test_a_months_figures_are_the_same_in_any_range_that_shows_it(awkward_ledger):
    with at("2031-06-01T00:00"):
        whole = money.deferred_revenue(months(MONTHS[0], MONTHS[-1]), "usd")
        parts = [money.deferred_revenue(months(name), "usd") for name in MONTHS]
    assert whole.opening == parts[0].opening
    assert whole.closing == parts[-1].closing
    for line, figure in whole.lines.items():
        assert figure.credits == sum(part.lines[line].credits for part in parts)
        assert figure.money == sum(part.lines[line].money for part in parts)
    assert any(figure.money for figure in whole.lines.values())


def test_breakage_by_cohort_is_the_expired_paid_credits_of_each_months_purchases(awkward_ledger):
    with at("2031-06-01T00:00"):
        cohorts = money.deferred_revenue(months(MONTHS[0], MONTHS[-1]), "usd").cohorts
    for cohort in cohorts:
        since, until = month(f"{cohort.start:%Y-%m}")
        grants = (
            "FROM credits_creditgrant g WHERE g.source = 'purchase' AND g.currency = 'usd' "
            "AND g.created_at >= %s AND g.created_at < %s"
        )
        assert cohort.issued == sql(f"SELECT SUM(g.amount) {grants}", since, until)
        assert cohort.expired == sql(
            "SELECT SUM(a.amount) FROM credits_allocation a "
            "JOIN credits_credittransaction t ON t.id = a.transaction_id "
            f"WHERE t.kind = 'expiry' AND a.grant_id IN (SELECT g.id {grants})",
            since,
            until,
        )
    assert sum(cohort.expired for cohort in cohorts) > 0


# --- Revenue, through Stripe's webhooks ---------------------------------------------------------


@pytest.fixture
def sales(webhooks, fake_stripe):  # noqa: F811
    """September: two USD packs, a USD plan's invoice and a EUR pack. October: a quarter of
    the first pack refunded, the second one's chargeback lost."""
    usd_pack, eur_pack = make_pack(), make_pack(name="Euro", currency="eur", price=Decimal("9"))
    plan = make_plan()
    ann, bob, cat = (make_buyer(fake_stripe) for _ in range(3))
    with at("2030-09-10T12:00"):
        first, second, euro = (
            pending_purchase(ann, usd_pack),
            pending_purchase(bob, usd_pack),
            pending_purchase(cat, eur_pack),
        )
        for purchase in (first, second, euro):
            webhooks.send("checkout.session.completed", session_object(purchase))
        start = int(datetime(2030, 9, 10, tzinfo=UTC).timestamp())
        invoice = invoice_object(
            cat,
            plan,
            invoice_id="in_1",
            subscription_id="sub_1",
            start=start,
            end=start + 86400 * 30,
        )
        webhooks.send("invoice.paid", invoice)
    with at("2030-10-03T12:00"):
        first.refresh_from_db()
        webhooks.send("charge.refunded", charge_object(first, refunded=250))
        webhooks.send("charge.refunded", charge_object(first, refunded=250))  # redelivered
    with at("2030-10-04T12:00"):
        second.refresh_from_db()
        webhooks.send("charge.dispute.created", dispute_object(second))
        webhooks.send("charge.dispute.closed", dispute_object(second, status="lost"))
        webhooks.send("charge.dispute.closed", dispute_object(second, status="lost"))
    return {"first": first, "second": second}


def independent_revenue(name: str, currency: str) -> dict:
    since, until = month(name)
    window = "AND currency = %s AND {0} >= %s AND {0} < %s"

    def total(table: str, moment: str, extra: str = "") -> Decimal:
        found = sql(
            f"SELECT SUM(amount) FROM {table} WHERE 1 = 1 {extra} {window.format(moment)}",
            currency,
            since,
            until,
        )
        return Decimal(str(found)).quantize(Decimal("0.01"))

    return {
        "packs": total("billing_purchase", "paid_at"),
        "subscriptions": total("billing_subscriptioninvoice", "created_at"),
        "refunds": total("billing_moneyback", "created_at", "AND kind = 'refund'"),
        "chargebacks": total("billing_moneyback", "created_at", "AND kind = 'chargeback'"),
    }


def test_revenue_counts_a_refund_and_a_lost_chargeback_in_their_own_month(sales):
    with at("2030-12-01T00:00"):
        report = money.revenue(months("2030-09", "2030-10"), "usd")
    september, october = report.months
    assert (september.packs, september.subscriptions, september.gross) == (
        Decimal("20.00"), Decimal("8.00"), Decimal("28.00"),
    )  # fmt: skip
    assert (september.refunds, september.chargebacks) == (0, 0)
    assert (october.refunds, october.chargebacks) == (Decimal("2.50"), Decimal("10.00"))
    assert october.net == Decimal("-12.50")
    assert report.total.net == Decimal("15.50")
    for found, name in ((september, "2030-09"), (october, "2030-10")):
        expected = independent_revenue(name, "usd")
        assert {part: getattr(found, part) for part in expected} == expected
    assert MoneyBack.objects.count() == 2  # a redelivery records nothing twice


def test_a_plans_first_payment_counts_once_as_the_subscriptions(webhooks, buyer):  # noqa: F811
    """A plan's checkout marks its purchase paid, and its first invoice is the same money: the
    revenue page and the front page's sales count it once, under subscriptions."""
    plan = make_plan()
    Stripe(webhooks).subscribe(buyer, plan, "sub_once", "2031-01-05T09:00", "2031-02-05T09:00")
    assert buyer.purchases.get().status == "paid"
    with at("2031-01-05T18:00"):
        january = money.revenue(months("2031-01"), "usd").figures()
        sold_today = {line.label: line.value for line in front.overview(StaffFactory())}
    assert january["revenue_subscriptions"] == Decimal("8.00")
    assert january["revenue_packs"] == Decimal("0.00")
    assert january["revenue_gross"] == Decimal("8.00")
    assert sold_today["Sales today (USD)"] == "$8.00"


def test_a_second_currency_never_mixes_in(sales):
    with at("2030-12-01T00:00"):
        euro = money.revenue(months("2030-09"), "eur").months[0]
        deferred = money.deferred_revenue(months("2030-09"), "eur")
    assert (euro.packs, euro.subscriptions, euro.net) == (Decimal("9.00"), 0, Decimal("9.00"))
    assert (deferred.closing.credits, deferred.closing.money) == (1000, Decimal("9.00"))
    assert money.currencies() == ["usd", "eur"]


def test_the_revenue_page_shows_the_table_its_chart_and_the_same_csv(client, sales):
    url = reverse("admin:analytics_revenue_changelist")
    query = {"from": "2030-09", "to": "2030-10", "currency": "usd"}
    with at("2030-12-01T00:00"):
        analyst(client)
        response = client.get(url, query)
        download = client.get(url, {**query, "format": "csv"})
        unknown = client.get(url, {**query, "currency": "xyz"})
        typed = client.get(url, {**query, "currency": " USD "})
    assert response.status_code == 200
    assert accessibility_problems(response) == []
    cells = [
        [cell.get_text(strip=True) for cell in row.select("th, td")]
        for row in page(response).select("#table-1 tbody tr")
    ]
    assert cells[1] == ["2030-10", "$0.00", "$0.00", "$0.00", "$2.50", "$10.00", "-$12.50"]
    assert (cells[2][0], cells[2][-1]) == ("Total", "$15.50")
    assert len(page(response).select("svg rect.analytics-bar")) == 2
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[1] == [
        "Month",
        "Packs",
        "Subscriptions",
        "Gross",
        "Refunds",
        "Chargebacks lost",
        "Net",
    ]
    assert rows[3] == ["2030-10", "0.00", "0.00", "0.00", "2.50", "10.00", "-12.50"]
    assert "No figures are kept in 'xyz'" in text(unknown)
    assert "No figures are kept" not in text(typed)
    assert "Revenue (USD)" in text(typed)


def test_the_deferred_revenue_page_renders_its_roll_forward(client, sales):
    url = reverse("admin:analytics_deferredrevenue_changelist")
    with at("2030-12-01T00:00"):
        analyst(client)
        response = client.get(url, {"from": "2030-09", "to": "2030-10", "currency": "usd"})
    assert response.status_code == 200
    assert accessibility_problems(response) == []
    shown = {
        row.th.get_text(strip=True): [td.get_text(strip=True) for td in row.select("td")]
        for row in page(response).select("#table-1 tbody tr")
    }
    # 2,000 credits bought at $0.01 and 500 from the plan at $0.016; 250 taken back by the
    # refund, 1,000 by the chargeback.
    assert shown["Issued (paid credits bought or granted with a cost)"] == ["2,500", "$28.00"]
    assert shown["Taken back (refunds, chargebacks, deductions)"] == ["-1,250", "-$12.50"]
    assert shown["Closing liability"] == ["1,250", "$15.50"]
    assert "do not reconcile" not in response.content.decode()
    # The chart writes each bar's figure as the table's money column does, $0.00 included.
    texts = [t.get_text() for t in page(response).select("figure.analytics-chart")[0]("text")]
    assert dict(zip(texts[::2], texts[1::2], strict=True)) == {
        label: money for label, (_, money) in shown.items()
    }
    assert shown["Transferred between users (net)"] == ["0", "$0.00"]


def test_the_report_prints_a_currencys_money_beside_the_flow(sales, capsys):
    with at("2030-12-01T00:00"):
        call_command(
            "credits_report", "--month", "2030-10", "--currency", "USD", "--format", "json"
        )
    figures = json.loads(capsys.readouterr().out)
    assert figures["currency"] == "usd"
    assert (figures["revenue_refunds"], figures["revenue_net"]) == ("2.50", "-12.50")
    assert (figures["liability_closing"], figures["liability_closes"]) == ("15.50", True)
    assert figures["closes"] is True
