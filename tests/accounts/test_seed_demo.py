from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from billing.models import CreditPackage, Promotion, Purchase, Subscription
from credits.models import CreditGrant, CreditTransaction, Wallet
from credits.reconciliation import reconcile
from credits.services import staff as staff_powers
from tests.credits.conftest import key

pytestmark = pytest.mark.django_db


def snapshot():
    users = User.objects.values_list("email", "password", "name", "is_staff", "is_superuser")
    addresses = EmailAddress.objects.values_list("email", "verified", "primary", "user__email")
    wallets = Wallet.objects.values_list("user__email", "balance", "held", "status")
    return (
        sorted(users),
        sorted(addresses),
        sorted(wallets, key=str),
        CreditTransaction.objects.count(),
    )


def test_seed_demo_twice_leaves_the_same_rows(capsys):
    call_command("seed_demo", force=True)
    first = snapshot()
    call_command("seed_demo", force=True)

    assert snapshot() == first
    assert len(first[0]) == 4
    assert first[3] > 0
    assert sum(1 for user in first[0] if user[3] and user[4]) == 1
    assert all(verified and primary for _, verified, primary, _ in first[1])
    assert "left unchanged" in capsys.readouterr().out
    assert reconcile().clean


def test_the_demo_has_a_catalogue_a_paid_purchase_and_a_subscription():
    call_command("seed_demo", force=True)

    assert CreditPackage.objects.filter(kind="pack").count() == 3
    assert CreditPackage.objects.filter(kind="plan").count() == 2
    assert Promotion.objects.count() == 2
    purchase = Purchase.objects.get()
    assert (purchase.status, purchase.bonus_credits) == ("paid", 240)
    assert Subscription.objects.get().invoices.count() == 1


def test_the_demo_ledger_shows_every_kind_of_movement():
    call_command("seed_demo", force=True)

    kinds = set(CreditTransaction.objects.values_list("kind", flat=True))
    assert {"grant", "spend", "hold", "refund", "transfer"} <= kinds
    sources = set(CreditGrant.objects.values_list("source", flat=True))
    assert {"purchase", "subscription", "promotion", "transfer"} <= sources
    soon = timezone.now() + timedelta(days=7)
    assert CreditGrant.objects.filter(remaining__gt=0, expires_at__lte=soon).exists()


def test_the_printed_demo_credentials_sign_in(client, capsys):
    call_command("seed_demo", force=True)
    line = next(line for line in capsys.readouterr().out.splitlines() if "alice@" in line)
    email, _, password = line.split()[:3]

    response = client.post(reverse("account_login"), {"login": email, "password": password})

    assert response.status_code == 302
    assert response["Location"] == reverse("credits:dashboard")


def test_seed_demo_refuses_to_run_with_debug_off_unless_forced():
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo")
    assert User.objects.count() == 0


def test_the_demo_admin_asks_for_a_large_grant_and_the_demo_checker_approves_it():
    call_command("seed_demo", force=True)
    admin = User.objects.get(email="admin@creditdesk.test")
    checker = User.objects.get(email="checker@creditdesk.test")
    bob = User.objects.get(email="bob@creditdesk.test")
    before = bob.wallet.balance

    asked = staff_powers.staff_grant(
        wallet=bob.wallet, amount=5000, reason="Demo", staff=admin, idempotency_key=key()
    )
    staff_powers.approve(approval=asked.approval, staff=checker)

    bob.wallet.refresh_from_db()
    assert bob.wallet.balance == before + 5000
    assert not checker.is_superuser
