"""The disputes page: CreditDesk disputes opened, answered, resolved, rejected and escalated
through disputes.services around October 2030, and Stripe disputes of pack payments sent as
signed webhooks; each figure checked against SQL written here and a count by hand, and the
queue's figures the same as the dispute list shows."""

import csv
import io
import statistics

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse

from analytics.disputes import disputes
from analytics.periods import month, months
from credits import services as credits
from disputes import services
from disputes.selectors import queue_metrics
from disputes.templatetags.disputes import waited
from tests.analytics.test_credits_flow import at
from tests.billing.conftest import (  # noqa: F401 (fixtures)
    dispute_object,
    endpoint,
    fake_stripe,
    make_buyer,
    make_pack,
    pending_purchase,
    session_object,
    stripe_keys,
    webhooks,
)
from tests.clients import sign_in_staff
from tests.credits.conftest import ACTOR, fund, key
from tests.factories import StaffFactory, UserFactory
from tests.pages import accessibility_problems, page

URL = reverse("admin:analytics_disputes_changelist")


def dispute_of(user, amount=100):
    charge = credits.spend(wallet=user.wallet, amount=amount, actor=ACTOR, idempotency_key=key())
    return services.open_dispute(
        user=user, txn=charge, reason="not_delivered", description="Never arrived.", amount=50
    )


@pytest.fixture
def cases(webhooks, fake_stripe):  # noqa: F811
    """Four disputes: d4 opened 28 September (answered in 6 h), resolved 1 October (72 h);
    d1 opened 2 October, answered in 2 h, resolved in 10 h; d2 opened 3 October, answered in
    4 h, rejected the next day, escalated, rejected again on 7 October (144 h from opening);
    d3 opened 20 October, never answered. Stripe: p4 paid in September and its chargeback lost
    in October; p1, p2 and p3 paid in October, p2's chargeback lost, p3's dispute still open."""
    staff = StaffFactory()
    senior = StaffFactory(is_superuser=False)
    senior.user_permissions.add(Permission.objects.get(codename="handle_escalated"))
    users = [UserFactory() for _ in range(4)]
    for user in users:
        fund(user.wallet, 500)
    d1_user, d2_user, d3_user, d4_user = users
    buyers = [make_buyer(fake_stripe) for _ in range(4)]
    with at("2030-09-28T00:00"):
        pack = make_pack()
        d4 = dispute_of(d4_user)
        p4 = pending_purchase(buyers[3], pack)
        webhooks.send("checkout.session.completed", session_object(p4))
        p4.refresh_from_db()
    with at("2030-09-28T06:00"):
        services.assign(dispute=d4, assignee=staff, by=staff)
    with at("2030-10-01T00:00"):
        services.resolve(dispute=d4, staff=staff, amount=50)
        webhooks.send("charge.dispute.created", dispute_object(p4))
        webhooks.send("charge.dispute.closed", dispute_object(p4, status="lost"))
    with at("2030-10-02T00:00"):
        d1 = dispute_of(d1_user)
        paid = [pending_purchase(buyer, pack) for buyer in buyers[:3]]
        for purchase in paid:
            webhooks.send("checkout.session.completed", session_object(purchase))
            purchase.refresh_from_db()
    with at("2030-10-02T02:00"):
        services.assign(dispute=d1, assignee=staff, by=staff)
    with at("2030-10-02T10:00"):
        services.resolve(dispute=d1, staff=staff, amount=30)
    with at("2030-10-03T00:00"):
        d2 = dispute_of(d2_user)
    with at("2030-10-03T04:00"):
        services.post_message(dispute=d2, author=staff, body="Looking at it.")
    with at("2030-10-04T00:00"):
        services.reject(dispute=d2, staff=staff, reason="It was delivered.")
    with at("2030-10-05T00:00"):
        services.escalate(dispute=d2, user=d2_user, reason="It was not.")
    with at("2030-10-07T00:00"):
        services.reject(dispute=d2, staff=senior, reason="The delivery is on record.")
    with at("2030-10-20T00:00"):
        dispute_of(d3_user)
    with at("2030-10-25T00:00"):
        webhooks.send("charge.dispute.created", dispute_object(paid[1]))
        webhooks.send("charge.dispute.closed", dispute_object(paid[1], status="lost"))
        webhooks.send("charge.dispute.created", dispute_object(paid[2]))


def sql(query: str, *params) -> list[tuple]:
    # Moments written as the backend stores them (SQLite compares text: d4 closes at 00:00).
    params = [connection.ops.adapt_datetimefield_value(value) for value in params]
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchall()


def count(condition: str, since, until) -> int:
    return sql(
        f"SELECT SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) FROM disputes_dispute", since, until
    )[0][0]


def median_hours(spans) -> str:
    return f"{statistics.median(spans).total_seconds() / 3600:.1f}"


CLOSED_IN = "status IN ('resolved', 'rejected') AND closed_at >= %s AND closed_at < %s"
PAID_IN = "FROM billing_purchase WHERE paid_at >= %s AND paid_at < %s"


def independent(name: str) -> dict:
    """The month's figures by SQL written here (the medians over the rows it selects)."""
    since, until = month(name)
    answered = sql(
        "SELECT created_at, first_response_at FROM disputes_dispute WHERE created_at >= %s "
        "AND created_at < %s AND first_response_at IS NOT NULL",
        since,
        until,
    )
    closed = sql(
        f"SELECT created_at, closed_at FROM disputes_dispute WHERE {CLOSED_IN}", since, until
    )
    return {
        "opened": count("created_at >= %s AND created_at < %s", since, until),
        "escalated": count("created_at >= %s AND created_at < %s AND level = 2", since, until),
        "closed": count(CLOSED_IN, since, until),
        "refunded": count(
            CLOSED_IN.replace("IN ('resolved', 'rejected')", "= 'resolved'"), since, until
        ),
        "median_first_response_hours": median_hours(end - start for start, end in answered),
        "median_resolution_hours": median_hours(end - start for start, end in closed),
        "payments": sql(f"SELECT COUNT(*) {PAID_IN}", since, until)[0][0],
        "payments_disputed": sql(
            f"SELECT COUNT(*) {PAID_IN} "
            "AND (open_dispute_ids <> '[]' OR decided_dispute_ids <> '[]')",
            since,
            until,
        )[0][0],
        "payments_still_disputed": sql(
            f"SELECT COUNT(*) {PAID_IN} AND open_dispute_ids <> '[]'", since, until
        )[0][0],
        "chargebacks_lost": sql(
            "SELECT COUNT(*) FROM billing_moneyback WHERE kind = 'chargeback' "
            "AND created_at >= %s AND created_at < %s",
            since,
            until,
        )[0][0],
    }


def test_the_months_figures_equal_sums_written_here_and_counts_by_hand(cases):
    figures = disputes(months("2030-10")).figures()
    for name, value in independent("2030-10").items():
        assert figures[name] == value, name
    # By hand: opened d1, d2, d3; closed d1, d4 (resolved) and d2 (rejected); d2 escalated.
    # First response: d1 2 h, d2 4 h (d3 none) -> 3.0; resolution d1 10, d4 72, d2 144 -> 72.0.
    # Stripe: p1, p2, p3 paid; p2 and p3 disputed; p3 still; p2 and p4 lost in October.
    assert figures == {
        "opened": 3,
        "closed": 3,
        "refunded": 2,
        "rejected": 1,
        "escalated": 1,
        "refund_share": "66.7%",
        "escalation_share": "33.3%",
        "median_first_response_hours": "3.0",
        "median_resolution_hours": "72.0",
        "payments": 3,
        "payments_disputed": 2,
        "payments_still_disputed": 1,
        "chargebacks_lost": 2,
        "chargeback_rate": "66.7%",
    }
    september = disputes(months("2030-09")).figures()
    assert (september["opened"], september["closed"], september["payments"]) == (1, 0, 1)
    assert september["median_first_response_hours"] == "6.0"


def test_the_page_shows_the_tables_with_the_queues_own_figures_and_the_same_csv(
    client, cases, django_assert_max_num_queries
):
    with at("2030-10-31T00:00"):
        sign_in_staff(
            client, StaffFactory(is_superuser=False, permissions=["analytics.view_analytics"])
        )
        with django_assert_max_num_queries(19):
            response = client.get(URL, {"from": "2030-10"})
        download = client.get(URL, {"from": "2030-10", "format": "csv"})
        queue = queue_metrics()
        sign_in_staff(client, UserFactory(is_staff=True))
        refused = client.get(URL, {"from": "2030-10"})
    assert response.status_code == 200
    assert accessibility_problems(response) == []
    assert refused.status_code == 403
    tables = [
        [[cell.get_text(strip=True) for cell in row.select("th, td")] for row in table]
        for table in (page(response).select(f"#table-{n} tbody tr") for n in (1, 2, 3))
    ]
    ours, stripe, shown_queue = (dict(rows) for rows in tables)
    assert ours["Opened"] == "3"
    assert ours["Refund share (of those closed)"] == "66.7%"
    assert ours["Median hours to resolution"] == "72.0"
    assert stripe["Chargeback rate (disputed / payments)"] == "66.7%"
    # The queue's own figures, from the function the dispute list shows them by: over the 30
    # days to 31 October, d1, d2 and d3 (d3 still open).
    assert shown_queue["Open now"] == "1" == str(queue.open)
    assert shown_queue["Median first response"] == waited(queue.median_first_response)
    assert shown_queue["Median time to close"] == waited(queue.median_resolution)
    assert shown_queue["Reason: The work or service was not delivered"] == "3"
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0] == ["CreditDesk disputes, October 2030"]
    assert rows[2 : 2 + len(tables[0])] == tables[0]
    assert len(page(response).select("figure.analytics-chart svg")) == 3
