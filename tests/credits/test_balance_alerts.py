"""Low-balance alerts: a wallet's thresholds, judged in the posting that moves its credits.

balance.low once per downward crossing of the available balance, balance.recovered only after a
low for that dip, at most one of each per threshold per 24 hours; several thresholds; a hold
counts; the page where a user sets them.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from credits import services
from credits.actors import Actor
from credits.errors import InvalidRequest
from credits.models import Wallet
from events.models import Event
from tests.credits.conftest import ACTOR, fund, key
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

START = datetime(2030, 1, 1, 9, tzinfo=UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def alerts(wallet) -> list[tuple[str, int, int]]:
    """(type, threshold, available) of the wallet's low/recovered events, oldest first."""
    events = Event.objects.filter(
        type__in=["balance.low", "balance.recovered"], user_id=wallet.user_id
    ).order_by("id")
    return [(event.type, event.data["threshold"], event.data["available"]) for event in events]


def spend(wallet, amount):
    return services.spend(wallet=wallet, amount=amount, actor=ACTOR, idempotency_key=key())


def set_thresholds(wallet, *values):
    return services.set_thresholds(wallet=wallet, thresholds=list(values), actor=ACTOR)


def test_falling_below_a_threshold_alerts_once_with_the_wallets_figures(
    wallet, everyone_listens, clock
):
    fund(wallet, 100)
    set_thresholds(wallet, 50)
    spend(wallet, 40)
    assert alerts(wallet) == []
    spend(wallet, 20)
    spend(wallet, 10)  # still below: no second alert
    assert alerts(wallet) == [("balance.low", 50, 40)]
    low = Event.objects.get(type="balance.low")
    assert low.data == {"user_id": wallet.user_id, "threshold": 50, "balance": 40, "available": 40}
    assert low.user_id == wallet.user_id
    assert low.occurred_at == START


def test_recovery_is_announced_only_after_a_low_alert(wallet, everyone_listens, clock):
    fund(wallet, 30)
    set_thresholds(wallet, 50)  # already below: setting it announces nothing
    fund(wallet, 30)  # back above, but no alert was sent for that dip
    assert alerts(wallet) == []
    spend(wallet, 20)  # 40
    fund(wallet, 10)  # 50: the threshold itself counts as recovered
    assert alerts(wallet) == [("balance.low", 50, 40), ("balance.recovered", 50, 50)]


def test_at_most_one_low_and_one_recovered_per_threshold_a_day(wallet, everyone_listens, clock):
    fund(wallet, 100)
    set_thresholds(wallet, 50)
    spend(wallet, 60)  # 40: low
    fund(wallet, 20)  # 60: recovered
    clock.shift(timedelta(hours=23))
    spend(wallet, 20)  # 40: a dip inside the day: quiet
    fund(wallet, 20)  # 60: no low was sent for that dip: quiet
    spend(wallet, 20)  # 40: still inside the day of the first low
    assert alerts(wallet) == [("balance.low", 50, 40), ("balance.recovered", 50, 60)]
    clock.shift(timedelta(hours=2))  # 25 h after the first low; this dip started unannounced
    fund(wallet, 20)  # 60: recovering from an unannounced dip says nothing
    spend(wallet, 20)  # 40: a new dip, a day after the last low: announced
    fund(wallet, 20)  # 60: and its recovery, a day after the last one
    assert alerts(wallet) == [
        ("balance.low", 50, 40),
        ("balance.recovered", 50, 60),
        ("balance.low", 50, 40),
        ("balance.recovered", 50, 60),
    ]


def test_each_threshold_has_its_own_alerts(wallet, everyone_listens, clock):
    fund(wallet, 200)
    set_thresholds(wallet, 100, 50, 150)
    spend(wallet, 160)  # 40: below all three in one spend
    assert sorted(alerts(wallet)) == [
        ("balance.low", 50, 40),
        ("balance.low", 100, 40),
        ("balance.low", 150, 40),
    ]
    fund(wallet, 70)  # 110: back above 50 and 100, not 150
    assert sorted(alerts(wallet)[3:]) == [
        ("balance.recovered", 50, 110),
        ("balance.recovered", 100, 110),
    ]


def test_credits_reserved_by_a_hold_count_as_gone(wallet, everyone_listens, clock):
    fund(wallet, 100)
    set_thresholds(wallet, 50)
    placed = services.hold(wallet=wallet, amount=60, actor=ACTOR, idempotency_key=key())
    assert alerts(wallet) == [("balance.low", 50, 40)]
    low = Event.objects.get(type="balance.low")
    assert (low.data["balance"], low.data["available"]) == (100, 40)
    services.release(hold=placed.hold, actor=ACTOR, idempotency_key=key())
    assert alerts(wallet)[-1] == ("balance.recovered", 50, 100)


def test_a_transfer_judges_both_wallets(wallet, other_wallet, everyone_listens, clock):
    fund(wallet, 100)
    fund(other_wallet, 30)
    set_thresholds(wallet, 50)
    set_thresholds(other_wallet, 20)
    spend(other_wallet, 25)  # 5: the receiver dips first
    services.transfer(
        sender=wallet, receiver=other_wallet, amount=60, actor=ACTOR, idempotency_key=key()
    )
    assert alerts(wallet) == [("balance.low", 50, 40)]
    assert alerts(other_wallet) == [("balance.low", 20, 5), ("balance.recovered", 20, 65)]


def test_thresholds_survive_in_the_row_and_a_wallet_without_them_stays_null(
    wallet, other_wallet, everyone_listens
):
    fund(wallet, 100)
    fund(other_wallet, 100)
    set_thresholds(wallet, 50)
    spend(wallet, 60)
    spend(other_wallet, 60)
    stored = Wallet.objects.get(pk=wallet.pk).alerts
    assert [(alert["threshold"], alert["state"], alert["alerted"]) for alert in stored] == [
        (50, "below", True)
    ]
    assert Wallet.objects.get(pk=other_wallet.pk).alerts is None
    assert alerts(other_wallet) == []


def test_thresholds_cost_a_spend_no_statement_even_when_one_is_crossed(
    wallet, other_wallet, everyone_listens, settings
):
    # The Python rules' cost; PostgreSQL's spend function hands a crossing back to them (one
    # round trip more, once per dip), tests/credits/test_one_call.py shows its outcome the same.
    settings.CREDITS_LEDGER_FUNCTIONS = False
    fund(wallet, 100)
    fund(other_wallet, 100)
    set_thresholds(other_wallet, 50, 20)
    spend(wallet, 1)  # what a process looks up once (system accounts) is looked up now
    spend(other_wallet, 1)
    with CaptureQueriesContext(connection) as plain:
        spend(wallet, 60)
    with CaptureQueriesContext(connection) as crossing:
        spend(other_wallet, 60)  # below 50: the alert rides in the spend's own statements
    assert alerts(other_wallet) == [("balance.low", 50, 39)]
    assert len(crossing.captured_queries) == len(plain.captured_queries)


def test_nobody_listening_still_moves_the_state_and_writes_no_event(wallet, nobody_listens):
    fund(wallet, 100)
    set_thresholds(wallet, 50)
    spend(wallet, 60)
    assert Event.objects.count() == 0
    assert Wallet.objects.get(pk=wallet.pk).alerts[0]["state"] == "below"


def test_changing_thresholds_keeps_the_state_of_those_kept(wallet, everyone_listens, clock):
    fund(wallet, 100)
    set_thresholds(wallet, 50)
    spend(wallet, 60)  # 40: low for 50
    assert set_thresholds(wallet, 30, 50, 45) == [50, 45, 30]  # 45 starts below: no alert
    fund(wallet, 20)  # 60: 50 recovers (it alerted), 45 does not (it never did)
    assert alerts(wallet) == [("balance.low", 50, 40), ("balance.recovered", 50, 60)]
    assert set_thresholds(wallet) == []
    assert Wallet.objects.get(pk=wallet.pk).alerts is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([1, 2, 3, 4, 5, 6], "At most 5 thresholds."),
        ([0], "A threshold is from 1 to 1,000,000,000 credits."),
        ([10**9 + 1], "A threshold is from 1 to 1,000,000,000 credits."),
        ([10, 10], "The threshold 10 is given twice."),
        (["10"], "A threshold is a whole number of credits."),
        ([True], "A threshold is a whole number of credits."),
    ],
)
def test_bad_thresholds_are_refused_and_change_nothing(wallet, values, message):
    set_thresholds(wallet, 7)
    with pytest.raises(InvalidRequest) as refused:
        services.set_thresholds(wallet=wallet, thresholds=values, actor=ACTOR)
    assert refused.value.message == message
    assert Wallet.objects.get(pk=wallet.pk).alerts[0]["threshold"] == 7


def test_another_user_cannot_set_a_wallets_thresholds(wallet):
    with pytest.raises(InvalidRequest):
        services.set_thresholds(wallet=wallet, thresholds=[5], actor=Actor.for_user(UserFactory()))
    assert Wallet.objects.get(pk=wallet.pk).alerts is None


# --- the page ---------------------------------------------------------------------------------


@pytest.fixture
def owner(client, wallet):
    client.force_login(wallet.user)
    return client


def open_form(client):
    """The form's address with its once-token (the first GET redirects to it)."""
    response = client.get(reverse("credits:alerts"))
    assert response.status_code == 302
    return response["Location"]


def test_the_page_saves_thresholds_and_redirects(owner, wallet):
    fund(wallet, 100)
    address = open_form(owner)
    page = owner.get(address)
    assert page.status_code == 200
    assert "Low-balance alerts" in page.content.decode()
    assert "You have no alerts set." in page.content.decode()
    response = owner.post(address, {"threshold_1": "500", "threshold_2": " 20 ", "threshold_3": ""})
    assert response.status_code == 302
    assert response["Location"] == reverse("credits:alerts")
    stored = Wallet.objects.get(pk=wallet.pk).alerts
    assert [(alert["threshold"], alert["state"]) for alert in stored] == [
        (500, "below"),
        (20, "above"),
    ]
    after = owner.get(owner.get(reverse("credits:alerts"))["Location"]).content.decode()
    assert "Your alerts are set at 500, 20 credits." in after
    assert 'value="500"' in after


def test_sending_the_form_again_changes_nothing(owner, wallet):
    address = open_form(owner)
    owner.post(address, {"threshold_1": "500"})
    again = owner.post(address, {"threshold_1": "70"})
    assert again.status_code == 200
    assert "This operation was already done" in again.content.decode()
    assert [alert["threshold"] for alert in Wallet.objects.get(pk=wallet.pk).alerts] == [500]


def test_the_page_shows_errors_beside_the_fields_and_saves_nothing(owner, wallet):
    address = open_form(owner)
    response = owner.post(
        address, {"threshold_1": "50", "threshold_2": "50", "threshold_3": "0", "threshold_4": "x"}
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {
        "threshold_2": ["This threshold is given twice."],
        "threshold_3": ["Ensure this value is greater than or equal to 1."],
        "threshold_4": ["Enter a whole number, using the digits 0 to 9."],
    }
    assert "This threshold is given twice." in response.content.decode()
    assert Wallet.objects.get(pk=wallet.pk).alerts is None


def test_the_dashboard_links_to_the_alerts(owner, wallet):
    fund(wallet, 100)
    assert reverse("credits:alerts") in owner.get(reverse("credits:dashboard")).content.decode()
