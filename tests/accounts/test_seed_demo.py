from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.demo import DEMO_USERS
from accounts.models import User
from billing.models import CreditPackage, Promotion, Purchase, Subscription
from credits.models import CreditGrant, CreditTransaction, Wallet
from credits.reconciliation import reconcile
from credits.services import staff as staff_powers
from tests.credits.conftest import key
from tests.pages import text

pytestmark = pytest.mark.django_db
ORIGINAL = [demo.email for demo in DEMO_USERS]


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
    # The accounts demo's four; the analytics demo's customers (none staff) come on top.
    assert [user[0] for user in first[0] if user[0] in ORIGINAL] == sorted(ORIGINAL)
    assert first[3] > 0
    assert sum(1 for user in first[0] if user[3] and user[4]) == 1
    assert all(verified and primary for _, verified, primary, _ in first[1])
    assert "left unchanged" in capsys.readouterr().out
    assert reconcile().clean


def test_the_demo_has_a_catalogue_a_paid_purchase_and_a_subscription():
    call_command("seed_demo", force=True)

    assert CreditPackage.objects.filter(kind="pack").count() == 3
    assert CreditPackage.objects.filter(kind="plan").count() == 3
    # The shop's demo (the analytics demo's history adds customers and a code of its own).
    assert Promotion.objects.filter(code__in=["WELCOME20", "FREE100"]).count() == 2
    purchases = Purchase.objects.filter(user__email__in=ORIGINAL).order_by("pk")
    assert [(p.package.name, p.status, p.bonus_credits) for p in purchases] == [
        ("Starter", "paid", 0),
        ("Standard", "paid", 240),
        ("Monthly", "paid", 0),
    ]
    assert Subscription.objects.get(user__email="bob@creditdesk.test").invoices.count() == 1


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


def test_every_credit_the_demo_calls_bought_was_bought_through_a_paid_purchase(client):
    call_command("seed_demo", force=True)

    for email in ("alice@creditdesk.test", "bob@creditdesk.test"):
        user = User.objects.get(email=email)
        bought = CreditGrant.objects.filter(wallet=user.wallet, source="purchase")
        paid = Purchase.objects.filter(user=user, status="paid", package__kind="pack")
        assert sum(g.amount for g in bought) == sum(p.credits for p in paid), email
        assert all(g.transaction.reference_object in paid for g in bought), email
    staff_grants = CreditGrant.objects.filter(source="admin")
    assert {g.transaction.actor_kind for g in staff_grants} == {"staff"}


def test_the_demo_dashboard_purchases_and_subscription_agree(client):
    call_command("seed_demo", force=True)
    bob = User.objects.get(email="bob@creditdesk.test")
    client.force_login(bob)

    purchases = text(client.get(reverse("billing:purchases")))
    dashboard = text(client.get(reverse("credits:dashboard")))

    assert "You have not bought anything yet" not in purchases
    assert "Subscription invoices" in purchases
    assert "Monthly 1,000" in purchases
    assert "Subscription 1,000" in dashboard
    assert "Purchases" not in dashboard.split("The last 12 months")[-1]


def test_seed_demo_prints_the_balances_the_dashboard_shows(client, capsys):
    call_command("seed_demo", force=True)
    printed = [line for line in capsys.readouterr().out.splitlines() if "Demo ledger:" in line]

    assert len(printed) == 2
    for line in printed:
        email = line.split()[2]
        user = User.objects.get(email=email)
        client.force_login(user)
        figures = text(client.get(reverse("credits:dashboard")))
        wallet = user.wallet
        assert (
            f"has {wallet.balance:,} credits ({wallet.held:,} held, {wallet.available:,} available)"
            in line
        )
        assert f"Available {wallet.available:,} Balance {wallet.balance:,}" in figures
