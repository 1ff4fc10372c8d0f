"""Staff run wallets from the admin: operations through intermediate forms, the ledger read-only."""

import pytest
from django.urls import reverse

from credits import services
from credits.admin.wallets import OPERATIONS
from credits.models import CreditGrant, CreditTransaction, Entry, Hold, Wallet
from tests.clients import sign_in_staff
from tests.credits.conftest import ACTOR, fund, key, state
from tests.factories import StaffFactory, UserFactory
from tests.pages import drawn_form, page, text

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    staff = StaffFactory()
    sign_in_staff(client, staff)
    client.staff = staff
    return client


def operation_url(name: str, *wallets: Wallet) -> str:
    ids = ",".join(str(wallet.pk) for wallet in wallets)
    return reverse("admin:credits_wallet_operation", args=[name]) + f"?ids={ids}"


def test_the_wallet_list_shows_balance_held_available_and_status(staff_client, wallet):
    fund(wallet, 120)
    wallet.user.email = "findme@example.com"
    wallet.user.save()

    response = staff_client.get(reverse("admin:credits_wallet_changelist"), {"q": "findme"})

    rows = page(response).select("#result_list tbody tr")
    assert len(rows) == 1
    cells = [cell.get_text(strip=True) for cell in rows[0].find_all(["th", "td"])][1:]
    assert cells == ["findme@example.com", "120", "0", "120", "Active"]


def test_the_wallet_page_shows_grants_holds_and_recent_transactions(staff_client, wallet):
    fund(wallet, 100, days=7)
    services.hold(
        wallet=wallet, amount=30, description="Job #7", actor=ACTOR, idempotency_key=key()
    )

    page_text = text(staff_client.get(reverse("admin:credits_wallet_change", args=[wallet.pk])))

    assert "Credit blocks with credits left" in page_text
    assert "Purchase Paid 70 100" in page_text
    assert "Job #7" in page_text
    assert "Grant +100 100" in page_text
    assert "Grant credits" in page_text


def test_staff_grant_credits_through_the_intermediate_form(staff_client, wallet, other_wallet):
    url = drawn_form(staff_client, operation_url("grant", wallet, other_wallet))
    data = {
        "amount": 250,
        "kind": "promotional",
        "expires_at": "2099-01-31 23:59",
        "priority": 40,
        "reason": "Apology for the outage",
    }

    response = staff_client.post(url, data, follow=True)
    staff_client.post(url, data)  # the same page sent twice grants once

    emails = f"{wallet.user.email}, {other_wallet.user.email}"
    assert f"Granted 250 credits each to the 2 wallets of {emails}." in text(response)
    for target in (wallet, other_wallet):
        assert state(target) == (250, 0, 250)
        grant = CreditGrant.objects.get(wallet=target)
        assert (grant.source, grant.is_promotional, grant.priority) == ("admin", True, 40)
        txn = grant.transaction
        assert (txn.actor_kind, txn.actor_user, txn.description) == (
            "staff",
            staff_client.staff,
            "Apology for the outage",
        )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"amount": 0}, "amount"),
        ({"amount": "ten"}, "amount"),
        ({"reason": ""}, "reason"),
        ({"expires_at": "2001-01-01 00:00"}, "expires_at"),
        ({"priority": 500}, "priority"),
    ],
)
def test_bad_grant_input_shows_an_error_beside_the_field(staff_client, wallet, changes, field):
    url = drawn_form(staff_client, operation_url("grant", wallet))
    data = {
        "amount": 10,
        "kind": "paid",
        "priority": 50,
        "reason": "x",
        **changes,
    }

    response = staff_client.post(url, data)

    assert response.status_code == 200
    row = page(response).find("input", attrs={"name": field}).find_parent(class_="form-row")
    assert "errors" in row["class"]
    assert CreditTransaction.objects.count() == 0


def test_a_deduction_beyond_the_balance_is_reported_and_changes_nothing(staff_client, wallet):
    fund(wallet, 40)
    url = drawn_form(staff_client, operation_url("deduct", wallet))
    data = {"amount": 50, "reason": "chargeback"}

    response = staff_client.post(url, data, follow=True)

    assert "Not enough credits: 50 asked, 40 available." in text(response)
    assert state(wallet) == (40, 0, 40)


def test_a_deduction_from_many_wallets_reports_the_done_and_the_refused_once_each(staff_client):
    wallets = [UserFactory().wallet for _ in range(5)]
    for rich in wallets:
        fund(rich, 100)
    poor = UserFactory().wallet
    url = drawn_form(staff_client, operation_url("deduct", *wallets, poor))
    data = {"amount": 30, "reason": "Fee"}

    response = staff_client.post(url, data, follow=True)

    messages = [item.get_text(strip=True) for item in page(response).select(".messagelist li")]

    first_three = ", ".join(w.user.email for w in wallets[:3])
    assert messages == [
        f"Not done for the wallet of {poor.user.email}: Not enough credits: 30 asked, 0 available.",
        f"Deducted 30 credits each from the 5 wallets of {first_three} and 2 more.",
    ]
    assert [state(w)[0] for w in wallets] == [70] * 5


def test_freeze_unfreeze_and_suspend_record_the_staff_member_and_reason(staff_client, wallet):
    for name in ("freeze", "unfreeze", "suspend"):
        url = drawn_form(staff_client, operation_url(name, wallet))
        staff_client.post(url, {"reason": f"{name} for a test"})

    wallet.refresh_from_db()
    assert wallet.status == "suspended"
    changes = list(wallet.status_changes.order_by("id"))
    assert [change.to_status for change in changes] == ["frozen", "active", "suspended"]
    assert {change.actor_user for change in changes} == {staff_client.staff}


def test_the_changelist_action_leads_to_the_intermediate_form(staff_client, wallet):
    response = staff_client.post(
        reverse("admin:credits_wallet_changelist"),
        {"action": "grant_credits", "_selected_action": [wallet.pk]},
    )

    assert response.status_code == 302
    assert response["Location"] == operation_url("grant", wallet)


@pytest.mark.parametrize("model", [CreditTransaction, Entry, CreditGrant, Hold])
def test_the_ledger_cannot_be_added_to_edited_or_deleted_in_the_admin(staff_client, wallet, model):
    fund(wallet, 10)
    services.hold(wallet=wallet, amount=1, actor=ACTOR, idempotency_key=key())
    obj = model.objects.first()
    info = (model._meta.app_label, model._meta.model_name)

    assert staff_client.get(reverse("admin:{}_{}_add".format(*info))).status_code == 403
    delete = staff_client.post(reverse("admin:{}_{}_delete".format(*info), args=[obj.pk]))
    assert delete.status_code == 403
    change = staff_client.get(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
    assert change.status_code == 200
    assert page(change).find("input", attrs={"name": "_save"}) is None
    assert model.objects.filter(pk=obj.pk).exists()


def test_users_without_staff_rights_cannot_run_operations(client, wallet):
    client.force_login(UserFactory())

    response = client.post(operation_url("grant", wallet), {"amount": 5, "reason": "x"})

    assert response.status_code == 302
    assert CreditTransaction.objects.count() == 0


def test_a_suspension_is_lifted_only_by_reactivating(staff_client, wallet):
    staff_client.post(
        drawn_form(staff_client, operation_url("suspend", wallet)), {"reason": "fraud"}
    )

    refused = staff_client.post(
        drawn_form(staff_client, operation_url("unfreeze", wallet)), {"reason": "oops"}, follow=True
    )
    staff_client.post(drawn_form(staff_client, operation_url("freeze", wallet)), {"reason": "oops"})
    wallet.refresh_from_db()
    assert wallet.status == "suspended"
    assert "reactivate it instead" in text(refused)

    staff_client.post(
        drawn_form(staff_client, operation_url("reactivate", wallet)), {"reason": "cleared"}
    )
    wallet.refresh_from_db()
    assert wallet.status == "active"


def test_admin_lists_show_times_in_the_same_iso_format_as_the_wallet_page(staff_client, wallet):
    txn = fund(wallet, 10).transaction

    response = staff_client.get(reverse("admin:credits_credittransaction_changelist"))

    assert f"{txn.created_at:%Y-%m-%d %H:%M}" in text(response)


@pytest.mark.parametrize(
    ("status", "funded", "offered"),
    [
        ("active", True, ["Grant credits", "Deduct credits", "Freeze", "Suspend"]),
        ("active", False, ["Grant credits", "Freeze", "Suspend"]),
        ("frozen", True, ["Grant credits", "Deduct credits", "Unfreeze", "Suspend"]),
        ("suspended", True, ["Reactivate"]),
    ],
)
def test_the_wallet_page_offers_only_the_operations_that_can_apply(
    staff_client, wallet, status, funded, offered
):
    if funded:
        fund(wallet, 10)
    Wallet.objects.filter(pk=wallet.pk).update(status=status)

    response = staff_client.get(reverse("admin:credits_wallet_change", args=[wallet.pk]))

    buttons = page(response).select(".field-operations a.button")
    assert [button.get_text(strip=True) for button in buttons] == offered
    assert offered == [
        OPERATIONS[name].title
        for name in services.staff_operations_open(Wallet.objects.get(pk=wallet.pk))
    ]


def test_the_wallet_page_links_its_transactions_blocks_holds_and_owner(staff_client, wallet):
    txn = fund(wallet, 100).transaction
    held = services.hold(wallet=wallet, amount=5, actor=ACTOR, idempotency_key=key()).hold

    response = staff_client.get(reverse("admin:credits_wallet_change", args=[wallet.pk]))

    links = {a["href"] for a in page(response).select("#content-main a")}
    assert reverse("admin:credits_credittransaction_change", args=[txn.pk]) in links
    assert reverse("admin:credits_creditgrant_change", args=[txn.created_grants.get().pk]) in links
    assert reverse("admin:credits_hold_change", args=[held.pk]) in links
    assert reverse("admin:accounts_user_change", args=[wallet.user.pk]) in links


def test_a_users_admin_page_links_to_their_wallet(staff_client, wallet):
    response = staff_client.get(reverse("admin:accounts_user_change", args=[wallet.user.pk]))

    link = page(response).select_one(".field-wallet_link a")
    assert link["href"] == reverse("admin:credits_wallet_change", args=[wallet.pk])
