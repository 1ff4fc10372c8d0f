"""Ending accounts in the admin: one with ledger history is deactivated (the ledger is
append-only), one without is deleted with its empty wallet; the staff-powers rules hold."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts import services as accounts
from accounts.models import ApiToken, User
from credits.models import StaffAction, Wallet
from tests.clients import sign_in_staff
from tests.credits.conftest import fund
from tests.factories import StaffFactory, UserFactory
from tests.pages import page, text

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:accounts_user_changelist"


@pytest.fixture
def superuser_client(client):
    client.staff = StaffFactory()
    sign_in_staff(client, client.staff)
    return client


def bulk(client, action: str, *users, **extra):
    data = {"action": action, "_selected_action": [user.pk for user in users], **extra}
    return client.post(reverse(CHANGELIST), data, follow=True)


def test_deleting_a_user_with_ledger_history_says_why_and_what_to_do_instead(superuser_client):
    customer = UserFactory()
    fund(customer.wallet, 10)

    for response in (
        bulk(superuser_client, "delete_selected", customer, post="yes"),
        superuser_client.get(reverse("admin:accounts_user_delete", args=[customer.pk])),
    ):
        assert "permission" not in text(response)
        assert "which must stay" in text(response)
        assert "Deactivate the selected users" in text(response)
    assert User.objects.filter(pk=customer.pk).exists()


def test_a_user_without_history_is_deleted_with_their_empty_wallet(superuser_client):
    newcomer, other = UserFactory(), UserFactory()

    bulk(superuser_client, "delete_selected", newcomer, post="yes")
    superuser_client.post(reverse("admin:accounts_user_delete", args=[other.pk]), {"post": "yes"})

    assert not User.objects.filter(pk__in=[newcomer.pk, other.pk]).exists()
    assert not Wallet.objects.filter(user_id__in=[newcomer.pk, other.pk]).exists()


def test_deactivating_turns_sign_in_off_suspends_the_wallet_and_records_the_reason(
    superuser_client,
):
    customer = UserFactory()
    fund(customer.wallet, 10)
    accounts.create_api_token(user=customer, name="CLI")
    session = Client()
    session.force_login(customer)

    asked = bulk(superuser_client, "deactivate_users", customer)
    bulk(superuser_client, "deactivate_users", customer, reason="Closed at their request")

    assert "cannot be deleted" in text(asked)
    customer.refresh_from_db()
    assert not customer.is_active
    assert customer.wallet.status == "suspended"
    action = StaffAction.objects.get(kind="deactivate")
    assert (action.staff, action.wallet, action.reason) == (
        superuser_client.staff,
        customer.wallet,
        "Closed at their request",
    )
    assert not ApiToken.objects.filter(user=customer, revoked_at__isnull=True).exists()
    assert session.get(reverse("credits:dashboard")).status_code == 302  # signed out


def test_nobody_deactivates_their_own_account_and_only_superusers_a_staff_account(client):
    manager = StaffFactory(
        is_superuser=False, permissions=["accounts.view_user", "accounts.change_user"]
    )
    colleague = StaffFactory(is_superuser=False)
    sign_in_staff(client, manager)

    for target in (manager, colleague):
        response = bulk(client, "deactivate_users", target, reason="Testing")
        assert target.email in text(response)
    assert User.objects.filter(pk__in=[manager.pk, colleague.pk], is_active=True).count() == 2
    assert not StaffAction.objects.filter(kind="deactivate").exists()


def test_the_deactivate_page_posts_back_the_users_it_was_asked_for(superuser_client):
    customer = UserFactory()
    fund(customer.wallet, 10)
    asked = bulk(superuser_client, "deactivate_users", customer)
    form = page(asked).find("textarea", attrs={"name": "reason"}).find_parent("form")
    data = {
        field["name"]: field.get("value", "")
        for field in form.find_all("input", attrs={"type": "hidden"})
    }

    superuser_client.post(reverse(CHANGELIST), {**data, "reason": "Closed"}, follow=True)

    customer.refresh_from_db()
    assert data["action"] == "deactivate_users"
    assert not customer.is_active
