"""The user's wallet pages: what they show, filters, pagination, statements, transfers."""

import csv
import io
from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from credits import selectors, services
from tests.credits.conftest import ACTOR, fund, key, state
from tests.factories import UserFactory
from tests.pages import accessibility_problems, page, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def user(client):
    user = UserFactory(name="Ada")
    client.force_login(user)
    return user


def spend(user, amount, description="Logo job"):
    return services.spend(
        wallet=user.wallet, amount=amount, description=description, actor=ACTOR,
        idempotency_key=key(),
    )  # fmt: skip


def test_the_dashboard_shows_balance_expiring_credits_months_and_recent_movements(client, user):
    fund(user.wallet, 500)
    spend(user, 120, "Logo job")
    services.hold(wallet=user.wallet, amount=50, description="Translation", actor=ACTOR,
                  idempotency_key=key())  # fmt: skip
    fund(user.wallet, 80, days=10, source="promotion")

    response = client.get(reverse("credits:dashboard"))

    page_text = text(response)
    assert "Available 410 Balance 460 Reserved by open holds 50" in page_text
    assert "80 credits expire within 30 days" in page_text
    this_month = timezone.localdate().strftime("%b %Y")
    assert f"{this_month} Purchases 500 Promotions 80 Spent 120" in page_text
    assert "Logo job" in page_text
    assert "50 credits for Translation" in page_text
    assert len(page(response).select("figure.chart svg g[role=img][aria-label]")) == 12
    assert accessibility_problems(response) == []


def test_a_months_card_adds_up_to_what_the_balance_did(user):
    other = UserFactory()
    fund(other.wallet, 100)
    fund(user.wallet, 500)
    services.transfer(sender=other.wallet, receiver=user.wallet, amount=40, actor=ACTOR,
                      idempotency_key=key())  # fmt: skip
    services.transfer(sender=user.wallet, receiver=other.wallet, amount=30, actor=ACTOR,
                      idempotency_key=key())  # fmt: skip
    purchase_grant = user.wallet.grants.get(source="purchase")
    services.revoke(grant=purchase_grant, amount=20, reason="Chargeback lost", actor=ACTOR,
                    idempotency_key=key())  # fmt: skip
    spend(user, 15)

    month = selectors.monthly_summary(user.wallet)[-1]

    assert (
        month.purchases,
        month.transfers_in,
        month.transfers_out,
        month.taken_back,
        month.spent,
    ) == (
        500,
        40,
        30,
        20,
        15,
    )
    assert month.added - month.removed == state(user.wallet)[0] == 475


def test_months_that_ended_are_read_once_and_this_month_on_every_visit(user):
    def at(day: date, hour: int = 12, minute: int = 0):
        moment = datetime(day.year, day.month, day.day, hour, minute)
        return time_machine.travel(timezone.make_aware(moment), tick=False)

    def spent_in(months, month: date) -> int:
        return next(summary.spent for summary in months if summary.month == month)

    october, november, december = date(2026, 10, 1), date(2026, 11, 1), date(2026, 12, 1)
    with at(date(2026, 10, 10)):
        fund(user.wallet, 500)
        spend(user, 30)
    with at(date(2026, 11, 15)):
        first = selectors.monthly_summary(user.wallet)
    with at(date(2026, 10, 11)):
        spend(user, 7)  # a row dated in an ended month, which the ledger never writes
    with at(date(2026, 11, 15), minute=5):
        spend(user, 5)
        again = selectors.monthly_summary(user.wallet)
    with at(december, hour=0, minute=30):  # within the margin: November may still gain rows
        early = selectors.monthly_summary(user.wallet)

    assert (spent_in(first, october), spent_in(first, november)) == (30, 0)
    assert (spent_in(again, october), spent_in(again, november)) == (30, 5)  # October kept
    assert (spent_in(early, october), spent_in(early, november)) == (37, 5)  # all read afresh


@pytest.mark.parametrize("movements", [3, 60])
def test_pages_run_a_fixed_number_of_queries_whatever_the_history(
    client, user, django_assert_max_num_queries, movements
):
    fund(user.wallet, 10_000)
    for _ in range(movements):
        spend(user, 1)
    txn = spend(user, 1)

    for name, args in [
        ("credits:dashboard", []),
        ("credits:history", []),
        ("credits:blocks", []),
        ("credits:transaction", [txn.pk]),
    ]:
        with django_assert_max_num_queries(16):
            assert client.get(reverse(name, args=args)).status_code == 200


def test_every_wallet_and_dispute_page_runs_as_many_queries_with_a_long_history(client, user):
    from disputes import services as disputes

    fund(user.wallet, 10_000)
    txn = spend(user, 50)
    dispute = disputes.open_dispute(
        user=user, txn=txn, reason="not_delivered", description="Never came.", amount=10
    )
    today = timezone.localdate().isoformat()
    pages = [
        reverse("credits:dashboard"),
        reverse("credits:history"),
        reverse("credits:history") + "?kind=spend&text=job",
        reverse("credits:transaction", args=[txn.pk]),
        reverse("credits:blocks"),
        reverse("credits:transfer"),
        reverse("credits:statement") + f"?since={today}&until={today}",
        reverse("disputes:list"),
        reverse("disputes:detail", args=[dispute.pk]),
    ]

    def queries_per_page() -> list[int]:
        counts = []
        for url in pages:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url)
                if response.streaming:  # the CSV's rows are read as it streams
                    b"".join(response.streaming_content)
            assert response.status_code == 200, url
            counts.append(len(queries))
        return counts

    short = queries_per_page()
    for index in range(40):
        spend(user, 1, f"job {index}")
        fund(user.wallet, 5, days=10 + index, source="promotion")
        disputes.post_message(dispute=dispute, author=user, body=f"Any news? ({index})")

    assert queries_per_page() == short


def test_history_filters_by_kind_dates_and_text(client, user):
    fund(user.wallet, 1000)
    spend(user, 10, "Logo job")
    spend(user, 20, "Voice-over")

    by_text = text(client.get(reverse("credits:history"), {"text": "voice"}))
    by_kind = text(client.get(reverse("credits:history"), {"kind": "grant"}))
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    by_date = text(client.get(reverse("credits:history"), {"since": tomorrow}))

    assert "Voice-over" in by_text
    assert "Logo job" not in by_text
    assert "Spend" not in by_kind.split("Kind Description")[-1]
    assert "Nothing matches." in by_date


def test_history_refuses_an_inverted_date_range_beside_the_field(client, user):
    response = client.get(
        reverse("credits:history"), {"since": "2026-05-02", "until": "2026-05-01"}
    )

    assert page(response).find(id="id_until_error") is not None


def test_history_pages_with_a_keyset_newest_first(client, user):
    fund(user.wallet, 1000)
    for index in range(55):
        spend(user, 1, f"job {index}")

    first = client.get(reverse("credits:history"))
    older = page(first).find("a", rel="next")["href"]
    second = client.get(reverse("credits:history") + older)

    assert "job 54" in text(first)
    assert "job 5 " in text(first)
    assert "job 4 " not in text(first)
    assert "job 4 " in text(second)
    assert "Grant" in text(second)
    assert page(second).find("a", rel="next") is None


def test_the_transaction_page_shows_the_blocks_used_and_refunds(client, user):
    fund(user.wallet, 30, days=5, source="promotion")
    fund(user.wallet, 100)
    txn = spend(user, 50)
    services.refund(transaction=txn, amount=10, actor=ACTOR, idempotency_key=key())

    response = client.get(reverse("credits:transaction", args=[txn.pk]))

    page_text = text(response)
    assert "Promotion" in page_text
    assert "Purchase" in page_text
    assert "10 credits on" in page_text
    assert "Dispute this charge" in page_text
    assert accessibility_problems(response) == []


def test_another_users_transaction_is_not_found(client, user):
    other = UserFactory()
    fund(other.wallet, 10)
    txn = services.spend(wallet=other.wallet, amount=5, actor=ACTOR, idempotency_key=key())

    assert client.get(reverse("credits:transaction", args=[txn.pk])).status_code == 404


def test_a_transfers_receiver_sees_none_of_the_senders_credit_blocks(client, user):
    sender = UserFactory()
    fund(sender.wallet, 100, source="purchase")
    txn = services.transfer(sender=sender.wallet, receiver=user.wallet, amount=40, actor=ACTOR,
                            idempotency_key=key())  # fmt: skip

    response = client.get(reverse("credits:transaction", args=[txn.pk]))

    assert response.status_code == 200
    assert f"#{sender.wallet.grants.get().pk}" not in text(response)
    assert "Purchase" not in text(response)


def test_the_statement_is_a_csv_with_opening_and_closing_balances(client, user):
    with time_machine.travel(timezone.now() - timedelta(days=10)):
        fund(user.wallet, 100)
    spend(user, 30, "Logo job")
    spend(user, 20, "Voice-over")
    today = timezone.localdate()

    response = client.get(
        reverse("credits:statement"),
        {"since": (today - timedelta(days=2)).isoformat(), "until": today.isoformat()},
    )

    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1] == ["Opening balance", "100"]
    assert [row[3] for row in rows[3:-1]] == ["Logo job", "Voice-over"]
    assert [row[5:] for row in rows[3:-1]] == [["-30", "70"], ["-20", "50"]]
    assert rows[-1] == ["Closing balance", "50"]


def test_a_statement_never_hands_a_spreadsheet_a_formula_from_another_user(client, user):
    sender = UserFactory()
    fund(sender.wallet, 100)
    services.transfer(sender=sender.wallet, receiver=user.wallet, amount=10, actor=ACTOR,
                      description='=HYPERLINK("http://evil.test","Refund")',
                      idempotency_key=key())  # fmt: skip
    today = timezone.localdate().isoformat()

    response = client.get(reverse("credits:statement"), {"since": today, "until": today})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[3][3] == """'=HYPERLINK("http://evil.test","Refund")"""
    assert rows[3][5] == "10"


def test_the_statement_form_refuses_an_inverted_range(client, user):
    response = client.get(
        reverse("credits:statement"), {"since": "2026-05-02", "until": "2026-05-01"}
    )

    assert response.status_code == 200
    assert page(response).find(id="id_until_error") is not None


@pytest.mark.parametrize("name", ["credits:statement", "credits:history"])
def test_an_end_date_after_today_is_a_form_error_not_a_crash(client, user, name):
    response = client.get(reverse(name), {"since": "9999-12-31", "until": "9999-12-31"})

    assert response.status_code == 200
    assert "The end date cannot be after today." in text(response)


def test_digits_that_are_not_numbers_are_ignored(client, user):
    response = client.get(reverse("credits:history"), {"before": "²"})

    assert response.status_code == 200


def test_credit_blocks_are_listed_in_the_order_they_will_be_used(client, user):
    fund(user.wallet, 100)
    fund(user.wallet, 20, days=3, source="promotion")

    rows = page(client.get(reverse("credits:blocks"))).select("tbody tr")

    assert [row.find_all("td")[1].get_text() for row in rows] == ["Promotion", "Purchase"]
    assert rows[0].find("td").get_text() == "Used first"


def test_a_transfer_is_confirmed_then_sent_once(client, user):
    receiver = UserFactory(email="bob@example.com", name="Bob")
    fund(user.wallet, 100)

    confirm = client.post(
        reverse("credits:transfer"),
        {"email": "BOB@example.com", "amount": 40, "idempotency_key": "t1"},
    )
    assert "40 credits" in text(confirm)
    assert "Bob (bob@example.com)" in text(confirm)
    assert "9,960 after this transfer" in text(confirm)
    assert state(user.wallet)[0] == 100

    data = {"email": "bob@example.com", "amount": 40, "idempotency_key": "t1", "description": ""}
    sent = client.post(reverse("credits:transfer-confirm"), data, follow=True)
    client.post(reverse("credits:transfer-confirm"), data)  # sent twice: moves once

    assert "40 credits were sent to Bob." in text(sent)
    assert state(user.wallet)[0] == 60
    assert state(receiver.wallet)[0] == 40


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "nobody@example.com", "amount": 5}, "email", "no CreditDesk user"),
        ({"email": "SELF", "amount": 5}, "email", "yourself"),
        ({"email": "bob@example.com", "amount": 0}, "amount", "greater than or equal to 1"),
    ],
)
def test_a_bad_transfer_is_refused_beside_the_field(client, user, data, field, message):
    UserFactory(email="bob@example.com")
    if data["email"] == "SELF":
        data["email"] = user.email

    response = client.post(reverse("credits:transfer"), {**data, "idempotency_key": "k"})

    error = page(response).find(id=f"id_{field}_error")
    assert error is not None
    assert message in error.get_text()


def test_a_transfer_of_promotional_credits_is_refused_plainly(client, user):
    UserFactory(email="bob@example.com")
    fund(user.wallet, 50, source="promotion")

    response = client.post(
        reverse("credits:transfer-confirm"),
        {"email": "bob@example.com", "amount": 10, "idempotency_key": "k"},
    )

    assert "0 can be transferred (promotional credits and credits granted by staff" in text(
        response
    )
    assert state(user.wallet)[0] == 50


def test_a_transfer_that_cannot_happen_is_refused_before_the_confirmation(client, user, settings):
    settings.CREDITS_DAILY_TRANSFER_LIMIT = 50
    UserFactory(email="bob@example.com")
    fund(user.wallet, 100)
    fund(user.wallet, 500, source="promotion")
    url = reverse("credits:transfer")

    over_limit = client.post(
        url, {"email": "bob@example.com", "amount": 60, "idempotency_key": "a"}
    )
    settings.CREDITS_DAILY_TRANSFER_LIMIT = None
    promotional = client.post(
        url, {"email": "bob@example.com", "amount": 101, "idempotency_key": "b"}
    )

    assert "exceeds the daily limit: 50 credits left today" in text(over_limit)
    assert "Not enough paid credits: 101 asked, 100 can be transferred" in text(promotional)
    assert page(over_limit).find("form", action=reverse("credits:transfer-confirm")) is None
    assert page(promotional).find("form", action=reverse("credits:transfer-confirm")) is None
    assert state(user.wallet)[0] == 600


def test_a_confirmation_sent_again_with_other_details_says_so_in_words(client, user):
    UserFactory(email="bob@example.com")
    fund(user.wallet, 100)
    data = {"email": "bob@example.com", "amount": 40, "idempotency_key": "t1", "description": ""}
    client.post(reverse("credits:transfer-confirm"), data)

    changed = client.post(reverse("credits:transfer-confirm"), {**data, "amount": 50})

    assert "This form was already sent with other details" in text(changed)
    assert "idempotency" not in text(changed).lower()
    assert state(user.wallet)[0] == 60


@pytest.mark.parametrize(
    "bad",
    [
        {"since": "2026-05-02", "until": "2026-05-01"},  # inverted range
        {"since": "yesterday"},  # not a date
        {"until": "2999-01-01"},  # after today
        {"kind": "gift"},  # no such kind
        {"text": "x" * 101},  # too long
    ],
)
def test_an_invalid_history_filter_lists_nothing_not_a_half_filtered_history(client, user, bad):
    fund(user.wallet, 1000)
    spend(user, 10, "Logo job")

    response = client.get(reverse("credits:history"), {"kind": "spend", **bad})

    assert page(response).find("table") is None
    assert "Correct the filter above to see your movements." in text(response)
    assert page(response).select(".errorlist")


def test_change_on_the_transfer_confirmation_keeps_what_was_typed(client, user):
    UserFactory(email="bob@example.com", name="Bob")
    fund(user.wallet, 100)
    typed = {"email": "bob@example.com", "amount": "40", "description": "For the logo"}
    confirm = client.post(reverse("credits:transfer"), {**typed, "idempotency_key": "t1"})
    change = page(confirm).find("button", string="Change")
    hidden = {
        field["name"]: field["value"]
        for field in page(confirm).select("form input[type=hidden]")
        if field["name"] != "csrfmiddlewaretoken"
    }

    back = client.post(change["formaction"], {**hidden, change["name"]: change["value"]})

    form = page(back).find("form", action=reverse("credits:transfer"))
    assert {name: form.find(attrs={"name": name})["value"] for name in typed} == typed
    assert form.find(attrs={"name": "idempotency_key"})["value"] == "t1"
    assert not page(back).select(".errorlist")
    assert state(user.wallet)[0] == 100
