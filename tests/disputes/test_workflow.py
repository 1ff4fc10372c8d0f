"""The dispute workflow through its services, its pages and the admin."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from credits import services as credits
from disputes import services
from disputes.errors import DisputeError
from disputes.models import Dispute
from tests.clients import sign_in_staff
from tests.credits.conftest import ACTOR, fund, key, state
from tests.factories import StaffFactory, UserFactory
from tests.pages import accessibility_problems, drawn_form, page, text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("ledger_reconciles")]


@pytest.fixture
def alice():
    user = UserFactory(email="alice@example.com")
    fund(user.wallet, 500)
    return user


@pytest.fixture
def charge(alice):
    return credits.spend(
        wallet=alice.wallet, amount=80, description="Logo job", actor=ACTOR, idempotency_key=key()
    )


@pytest.fixture
def staff():
    return StaffFactory(email="staff@example.com")


def open_dispute(user, txn, amount=50):
    return services.open_dispute(
        user=user, txn=txn, reason="not_delivered", description="Never arrived.", amount=amount
    )


def test_a_dispute_is_resolved_with_a_refund_the_user_sees(
    alice, charge, staff, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dispute = open_dispute(alice, charge)
        services.assign(dispute=dispute, assignee=staff, by=staff)
        services.resolve(dispute=dispute, staff=staff, amount=40, note="Half was delivered.")

    dispute.refresh_from_db()
    assert (dispute.status, dispute.refund.amount, dispute.refund.reverses) == (
        "resolved",
        40,
        charge,
    )
    assert dispute.refund.reference_object == dispute
    assert dispute.first_response_at is not None
    assert dispute.closed_at is not None
    assert state(alice.wallet) == (460, 0, 460)
    subjects = [mail.subject for mail in mailoutbox]
    assert subjects == [
        f"[CreditDesk] Dispute #{dispute.pk}: We received your dispute",
        f"[CreditDesk] Dispute #{dispute.pk}: under review",
        f"[CreditDesk] Dispute #{dispute.pk}: resolved",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"amount": 81}, "between 1 and 80"),
        ({"amount": 0}, "between 1 and 80"),
        ({"reason": "bored"}, "reason from the list"),
        ({"description": "  "}, "Describe what went wrong"),
    ],
)
def test_a_bad_dispute_is_refused_and_nothing_is_opened(alice, charge, change, message):
    arguments = {"reason": "duplicate", "description": "Twice.", "amount": 10, **change}

    with pytest.raises(DisputeError, match=message):
        services.open_dispute(user=alice, txn=charge, **arguments)
    assert not Dispute.objects.exists()


def test_only_own_recent_debits_without_an_open_dispute_can_be_disputed(alice, charge):
    other = UserFactory()
    grant = alice.wallet.grants.first().transaction
    open_dispute(alice, charge)

    assert "own transactions" in services.why_not_disputable(user=other, txn=charge)
    assert "Only spends" in services.why_not_disputable(user=alice, txn=grant)
    assert "already has an open dispute" in services.why_not_disputable(user=alice, txn=charge)
    with time_machine.travel(timezone.now() + timedelta(days=61)):
        fresh = credits.spend(wallet=alice.wallet, amount=1, actor=ACTOR, idempotency_key=key())
    with time_machine.travel(timezone.now() + timedelta(days=122)):
        assert "60 days" in services.why_not_disputable(user=alice, txn=fresh)


def test_a_rejection_can_be_escalated_once_to_a_senior(alice, charge, staff):
    dispute = open_dispute(alice, charge)
    services.reject(dispute=dispute, staff=staff, reason="It was delivered.")
    services.escalate(dispute=dispute, user=alice, reason="It was not.")
    dispute.refresh_from_db()
    assert (dispute.status, dispute.level, dispute.assignee) == ("under_review", 2, None)

    with pytest.raises(DisputeError, match="senior"):
        services.resolve(dispute=dispute, staff=StaffFactory(is_superuser=False), amount=10)
    senior = StaffFactory(is_superuser=False)
    senior.user_permissions.add(Permission.objects.get(codename="handle_escalated"))
    senior = type(senior).objects.get(pk=senior.pk)
    services.reject(dispute=dispute, staff=senior, reason="Confirmed delivered.")

    with pytest.raises(DisputeError, match="already been escalated"):
        services.escalate(dispute=dispute, user=alice)
    with pytest.raises(DisputeError, match="rejected after a senior review"):
        open_dispute(alice, charge)
    assert state(alice.wallet)[0] == 420


def test_a_rejected_dispute_is_escalated_not_opened_again(alice, charge, staff):
    dispute = open_dispute(alice, charge)
    services.reject(dispute=dispute, staff=staff, reason="It was delivered.")

    with pytest.raises(DisputeError, match=f"#{dispute.pk} .* escalate it instead"):
        open_dispute(alice, charge)

    assert Dispute.objects.count() == 1


def test_a_request_for_information_waits_for_the_users_reply(
    alice, charge, staff, mailoutbox, django_capture_on_commit_callbacks
):
    dispute = open_dispute(alice, charge)
    assignee = StaffFactory(email="assignee@example.com")
    services.assign(dispute=dispute, assignee=assignee, by=staff)
    services.request_information(dispute=dispute, staff=assignee, question="Which file?")
    assert Dispute.objects.get(pk=dispute.pk).status == "awaiting_user"

    with django_capture_on_commit_callbacks(execute=True):
        services.post_message(dispute=dispute, author=alice, body="logo-final.svg")

    assert Dispute.objects.get(pk=dispute.pk).status == "under_review"
    assert mailoutbox[-1].to == ["assignee@example.com"]


def test_internal_notes_are_never_shown_to_the_user(client, alice, charge, staff):
    dispute = open_dispute(alice, charge)
    services.post_message(dispute=dispute, author=staff, body="Looks like fraud", internal=True)
    services.post_message(dispute=dispute, author=staff, body="We are checking.")
    client.force_login(alice)

    page_text = text(client.get(reverse("disputes:detail", args=[dispute.pk])))

    assert "We are checking." in page_text
    assert "Looks like fraud" not in page_text


def test_no_email_is_sent_for_a_change_that_rolled_back(
    alice, charge, mailoutbox, django_capture_on_commit_callbacks
):
    from django.db import transaction

    def open_then_fail():
        with transaction.atomic():
            open_dispute(alice, charge)
            raise RuntimeError("rolled back")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        open_then_fail()

    assert callbacks == []
    assert mailoutbox == []
    assert not Dispute.objects.exists()


# --- pages ---------------------------------------------------------------------------------------


def test_a_user_opens_a_dispute_from_the_transaction_page(client, alice, charge):
    client.force_login(alice)
    form_url = reverse("disputes:open", args=[charge.pk])
    assert form_url in client.get(reverse("credits:transaction", args=[charge.pk])).content.decode()

    response = client.post(
        form_url,
        {"reason": "poor_quality", "description": "Blurry.", "amount": 30},
        follow=True,
    )

    dispute = Dispute.objects.get()
    assert (dispute.amount, dispute.reason) == (30, "poor_quality")
    assert "Your dispute is open" in text(response)
    assert accessibility_problems(response) == []


def test_the_open_form_refuses_more_than_can_be_asked_beside_the_field(client, alice, charge):
    client.force_login(alice)

    response = client.post(
        reverse("disputes:open", args=[charge.pk]),
        {"reason": "poor_quality", "description": "Blurry.", "amount": 81},
    )

    assert page(response).find(id="id_amount_error") is not None
    assert not Dispute.objects.exists()


def test_posting_a_message_with_htmx_returns_the_updated_thread(client, alice, charge):
    dispute = open_dispute(alice, charge)
    client.force_login(alice)

    response = client.post(
        reverse("disputes:message", args=[dispute.pk]),
        {"body": "Any news?"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert page(response).find(id="thread") is not None
    assert "Any news?" in text(response)
    assert "<html" not in response.content.decode()
    assert page(response).find(role="status").get_text(strip=True) == "Message sent."


def test_another_users_dispute_is_not_found(client, alice, charge):
    dispute = open_dispute(alice, charge)
    client.force_login(UserFactory())

    assert client.get(reverse("disputes:detail", args=[dispute.pk])).status_code == 404
    assert (
        client.post(reverse("disputes:message", args=[dispute.pk]), {"body": "x"}).status_code
        == 404
    )
    assert client.post(reverse("disputes:escalate", args=[dispute.pk])).status_code == 404


def test_the_user_escalates_a_rejection_from_the_dispute_page(client, alice, charge, staff):
    dispute = open_dispute(alice, charge)
    services.reject(dispute=dispute, staff=staff, reason="Delivered on time.")
    client.force_login(alice)

    shown = client.get(reverse("disputes:detail", args=[dispute.pk]))
    assert "Delivered on time." in text(shown)
    client.post(reverse("disputes:escalate", args=[dispute.pk]), {"reason": "No it was not."})

    assert Dispute.objects.get(pk=dispute.pk).level == 2


def test_an_escalation_reason_too_long_is_refused_not_dropped(client, alice, charge, staff):
    dispute = open_dispute(alice, charge)
    services.reject(dispute=dispute, staff=staff, reason="Delivered on time.")
    client.force_login(alice)

    response = client.post(
        reverse("disputes:escalate", args=[dispute.pk]), {"reason": "x" * 4001}, follow=True
    )

    assert "The reason is too long" in text(response)
    assert Dispute.objects.get(pk=dispute.pk).level == 1


def test_the_dispute_list_shows_only_the_users_own(client, alice, charge):
    open_dispute(alice, charge)
    bob = UserFactory()
    fund(bob.wallet, 10)
    bobs = credits.spend(wallet=bob.wallet, amount=5, actor=ACTOR, idempotency_key=key())
    open_dispute(bob, bobs, amount=5)
    client.force_login(alice)

    response = client.get(reverse("disputes:list"))

    assert len(page(response).select("tbody tr")) == 1
    assert accessibility_problems(response) == []


# --- admin ---------------------------------------------------------------------------------------


def test_waiting_for_the_user_is_said_to_each_side_in_its_own_words(client, alice, charge, staff):
    dispute = open_dispute(alice, charge)
    services.request_information(dispute=dispute, staff=staff, question="Which file?")
    UserFactory(email="not-staff@example.com")

    client.force_login(alice)
    mine = [client.get(reverse(name, args=args)) for name, args in [
        ("disputes:list", []), ("disputes:detail", [dispute.pk]),
        ("credits:transaction", [charge.pk]),
    ]]  # fmt: skip
    sign_in_staff(client, staff)
    queue = client.get(reverse("admin:disputes_dispute_changelist"))
    step = client.get(
        drawn_form(client, reverse("admin:disputes_dispute_step", args=[dispute.pk, "note"]))
    )

    assert all("waiting for your reply" in text(shown).lower() for shown in mine)
    for shown in (queue, step):
        assert "Waiting for the user" in text(shown)
        assert "your reply" not in text(shown)
    assignees = page(queue).find("details", attrs={"data-filter-title": "assignee"}).get_text()
    assert "staff@example.com" in assignees
    assert "not-staff@example.com" not in assignees
    assert "alice@example.com" not in assignees


def test_staff_resolve_through_the_admin_form(client, alice, charge, staff):
    dispute = open_dispute(alice, charge)
    sign_in_staff(client, staff)
    queue = client.get(reverse("admin:disputes_dispute_changelist"), {"status__exact": "open"})
    assert "1 open" in text(queue)

    url = drawn_form(client, reverse("admin:disputes_dispute_step", args=[dispute.pk, "resolve"]))
    refused = client.post(url, {"amount": 90, "note": ""})
    assert "between 1 and 50" in text(refused)

    client.post(url, {"amount": 50, "note": "Sorry."})

    dispute.refresh_from_db()
    assert dispute.status == "resolved"
    assert dispute.refund.actor_user == staff
    assert state(alice.wallet)[0] == 470


def test_rejecting_in_the_admin_needs_a_reason(client, alice, charge, staff):
    dispute = open_dispute(alice, charge)
    sign_in_staff(client, staff)
    url = drawn_form(client, reverse("admin:disputes_dispute_step", args=[dispute.pk, "reject"]))

    refused = client.post(url, {"reason": ""})
    client.post(url, {"reason": "Delivered."})

    assert page(refused).find(class_="errorlist") is not None
    assert Dispute.objects.get(pk=dispute.pk).status == "rejected"


def test_assign_to_me_puts_the_dispute_under_review(client, alice, charge, staff):
    dispute = open_dispute(alice, charge)
    sign_in_staff(client, staff)

    client.post(
        reverse("admin:disputes_dispute_changelist"),
        {"action": "assign_to_me", "_selected_action": [dispute.pk]},
    )

    dispute.refresh_from_db()
    assert (dispute.assignee, dispute.status) == (staff, "under_review")


def test_staff_assign_a_dispute_to_a_colleague_through_the_admin_form(client, alice, charge, staff):
    colleague = StaffFactory(email="colleague@example.com")
    dispute = open_dispute(alice, charge)
    sign_in_staff(client, staff)
    url = drawn_form(client, reverse("admin:disputes_dispute_step", args=[dispute.pk, "assign"]))

    form = client.get(url)
    refused = client.post(url, {"assignee": alice.pk})
    client.post(url, {"assignee": colleague.pk})

    assert "colleague@example.com" in text(form)
    assert page(refused).find(class_="errorlist") is not None
    dispute.refresh_from_db()
    assert (dispute.assignee, dispute.status) == (colleague, "under_review")


def test_the_queue_metrics_read_as_hours_and_minutes(client, alice, charge, staff):
    dispute = open_dispute(alice, charge)
    with time_machine.travel(timezone.now() + timedelta(hours=2, minutes=5)):
        services.resolve(dispute=dispute, staff=staff, amount=10)
        sign_in_staff(client, staff)
        queue = text(client.get(reverse("admin:disputes_dispute_changelist")))

    assert "median first response (30 days): 2 h 5 min" in queue
    assert "median time to close (30 days): 2 h 5 min" in queue
