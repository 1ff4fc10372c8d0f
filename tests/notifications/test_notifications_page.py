"""The notifications page: which e-mails a user gets (receipts and security notices always), saved
once per drawn form, and the e-mails sent lately."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from events.outbox import announce
from notifications.kinds import EXPLANATIONS, Kind
from notifications.models import NotificationOptOut
from tests.factories import UserFactory
from tests.pages import accessibility_problems

pytestmark = pytest.mark.django_db

PAGE = "/accounts/notifications/"


@pytest.fixture
def user(db):
    return UserFactory(email="alice@example.com")


@pytest.fixture
def browser(user):
    client = Client()
    client.force_login(user)
    return client


def drawn_form(browser) -> str:
    """Open the page as a person does: it takes a once-token first; the address with it."""
    first = browser.get(PAGE)
    assert first.status_code == 302
    assert "?once=" in first["Location"]
    return first["Location"]


def checkbox(page: str, kind) -> str:
    """The <input> tag of `kind`'s checkbox."""
    [tag] = re.findall(rf'<input[^>]*id="id_{kind}"[^>]*>', page)
    return tag


def test_the_page_needs_a_signed_in_user():
    answer = Client().get(PAGE)
    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("account_login"))


def test_the_account_page_links_to_the_notifications_and_low_balance_pages(browser):
    page = browser.get(reverse("accounts:profile")).content.decode()
    assert f'href="{PAGE}"' in page
    assert 'href="/dashboard/alerts/">Low-balance alerts</a>' in page


def test_each_kind_has_a_labelled_checkbox_receipts_and_security_checked_and_disabled(browser):
    answer = browser.get(drawn_form(browser))
    assert accessibility_problems(answer) == []
    page = answer.content.decode()
    for explanation in EXPLANATIONS.values():
        assert explanation in page
    for kind in Kind:
        assert f'<label for="id_{kind.value}">{kind.label}</label>' in page
    for always in (Kind.PURCHASE_RECEIPTS, Kind.WALLET_STATUS):
        tag = checkbox(page, always)
        assert "checked" in tag
        assert "disabled" in tag
    assert "a payment needs its receipt" in page
    assert "a security notice" in page
    low = checkbox(page, Kind.LOW_BALANCE)
    assert "checked" in low
    assert "disabled" not in low
    assert 'href="/dashboard/alerts/"' in page


def test_saving_turns_kinds_off_and_on_post_redirect_get(user, browser):
    address = drawn_form(browser)
    answer = browser.post(address, {"credits_received": "on", "disputes": "on", "jobs": "on"})
    assert answer.status_code == 302
    assert answer["Location"] == PAGE
    assert set(NotificationOptOut.objects.filter(user=user).values_list("kind", flat=True)) == {
        Kind.EXPIRY_WARNINGS,
        Kind.LOW_BALANCE,
        Kind.SUBSCRIPTION_RENEWALS,
    }
    page = browser.get(PAGE, follow=True).content.decode()
    assert "Your e-mail choices have been saved." in page
    low = checkbox(page, Kind.LOW_BALANCE)
    assert "checked" not in low

    browser.post(drawn_form(browser), {kind.value: "on" for kind in Kind})
    assert not NotificationOptOut.objects.filter(user=user).exists()


def test_a_crafted_post_cannot_turn_receipts_or_security_notices_off(user, browser):
    browser.post(drawn_form(browser), {"purchase_receipts": "", "wallet_status": "off"})
    kinds = set(NotificationOptOut.objects.filter(user=user).values_list("kind", flat=True))
    assert Kind.PURCHASE_RECEIPTS not in kinds
    assert Kind.WALLET_STATUS not in kinds
    assert Kind.LOW_BALANCE in kinds  # the rest of the form was read as sent


def test_the_same_form_sent_twice_acts_once(user, browser):
    address = drawn_form(browser)
    browser.post(address, {})
    NotificationOptOut.objects.filter(user=user).delete()  # changed elsewhere meanwhile
    again = browser.post(address, {})
    assert again.status_code == 200
    assert "This operation was already done" in again.content.decode()
    assert not NotificationOptOut.objects.filter(user=user).exists()


def test_a_form_without_a_valid_token_changes_nothing(user, browser):
    answer = browser.post(PAGE + "?once=not-a-token", {}, follow=True)
    assert "That form was no longer valid" in answer.content.decode()
    assert not NotificationOptOut.objects.filter(user=user).exists()


def test_the_last_twenty_notices_are_shown_and_older_ones_on_the_next_page(
    user, browser, django_capture_on_commit_callbacks
):
    for threshold in range(1, 26):
        with django_capture_on_commit_callbacks(execute=True):
            data = {"user_id": user.pk, "threshold": threshold, "balance": 0, "available": 0}
            announce("balance.low", data=data, user_id=user.pk)
    first = browser.get(drawn_form(browser)).content.decode()
    assert first.count('<td data-label="Subject">') == 20
    assert "Your balance is below 25 credits" in first  # newest first
    assert "Your balance is below 5 credits" not in first
    assert "Page 1 of 2" in first
    assert "Sent" in first
    second = browser.get(PAGE + "?page=2", follow=True).content.decode()
    assert second.count('<td data-label="Subject">') == 5
    assert "Your balance is below 1 credits" in second


def test_another_users_notices_are_not_shown(browser, django_capture_on_commit_callbacks):
    other = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        data = {"user_id": other.pk, "threshold": 7, "balance": 0, "available": 0}
        announce("balance.low", data=data, user_id=other.pk)
    page = browser.get(drawn_form(browser)).content.decode()
    assert "Your balance is below 7 credits" not in page
    assert "We have not e-mailed you yet." in page
