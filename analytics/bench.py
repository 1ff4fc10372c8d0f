"""The analytics benchmark's ledger: many users' months of buying and spending, built with
set-based SQL (a million entries through the services would take hours) as the services write
them, so the credits flow and the deferred revenue roll-forward close on it; then every
analytics page timed.

Each user, each month: a pack bought (a Purchase paid and its grant, USD for four users in five,
EUR for the fifth), a spend of part of it; for every other user the rest expires twenty days
later, for the others a second spend uses it up. So every month's wallets start and end empty,
and the pages have purchases, consumption and breakage to count. One user in ten also pays a
monthly plan's invoice each month (SUBSCRIPTIONS), for the subscriptions page.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from analytics.periods import Period
from billing.models import CreditPackage, MoneyBack, Purchase, Subscription, SubscriptionInvoice
from credits import services
from credits.bench.history import ALLOCATION_TABLE, GRANT_TABLE, TRANSACTION_TABLE, reserve_ids
from credits.bench.spends import ENTRY_TABLE, WALLET_TABLE
from credits.models import Entry, Wallet

PACK_CREDITS, FIRST_SPEND = 100, 60

PURCHASE_TABLE = Purchase._meta.db_table
MONEY_BACK_TABLE = MoneyBack._meta.db_table

# One row per (user, month) of the build: its user's wallet, when its pack was bought, and ids.
PLAN = """
CREATE TEMPORARY TABLE bench_plan ON COMMIT DROP AS
SELECT w.id AS wallet_id, w.user_id, u.n, m.index AS month,
       %(first_month)s::timestamptz + m.index * interval '1 month' + interval '1 day'
           + u.n * interval '1 second' AS bought,
       CASE WHEN u.n %% 5 = 0 THEN 'eur' ELSE 'usd' END AS currency,
       CASE WHEN u.n %% 2 = 0 THEN true ELSE false END AS expires,
       (u.n * %(months)s + m.index) AS slot
FROM (SELECT id, user_id, row_number() OVER (ORDER BY id) - 1 AS n FROM {wallets}
      WHERE kind = 'user' AND user_id IN (SELECT id FROM {users} WHERE email LIKE 'bench-%%')) u
JOIN {wallets} w ON w.id = u.id
CROSS JOIN generate_series(0, %(months)s - 1) AS m (index)
"""
# Three transactions a slot: its grant (id + 0), its first spend (+1), its expiry or second
# spend (+2); six entries a slot, in the same order, the user's leg first.
TRANSACTIONS = """
INSERT INTO {transactions} (id, kind, wallet_id, amount, description, reference, reference_id,
    metadata, actor_kind, actor_label, created_at)
SELECT %(txn)s + slot * 3 + step.k,
       CASE step.k WHEN 0 THEN 'grant' WHEN 1 THEN 'spend'
            ELSE CASE WHEN expires THEN 'expiry' ELSE 'spend' END END,
       wallet_id,
       CASE step.k WHEN 0 THEN %(pack)s WHEN 1 THEN %(first)s ELSE %(pack)s - %(first)s END,
       'bench', '', '', '{{}}', 'system', 'bench',
       bought + step.k * interval '10 days'
FROM bench_plan CROSS JOIN (VALUES (0), (1), (2)) AS step (k)
ORDER BY slot, step.k
"""
ENTRIES = """
INSERT INTO {entries} (id, transaction_id, wallet_id, amount, balance_after, created_at)
SELECT %(entry)s + slot * 6 + step.k * 2 + leg.j,
       %(txn)s + slot * 3 + step.k,
       CASE WHEN leg.j = 0 THEN wallet_id
            WHEN step.k = 0 THEN %(purchases)s
            WHEN step.k = 2 AND expires THEN %(expired)s
            ELSE %(consumption)s END,
       (CASE WHEN leg.j = 0 THEN 1 ELSE -1 END)
           * CASE step.k WHEN 0 THEN %(pack)s WHEN 1 THEN -%(first)s
                         ELSE -(%(pack)s - %(first)s) END,
       CASE WHEN leg.j = 0 THEN
           CASE step.k WHEN 0 THEN %(pack)s WHEN 1 THEN %(pack)s - %(first)s ELSE 0 END END,
       bought + step.k * interval '10 days'
FROM bench_plan CROSS JOIN (VALUES (0), (1), (2)) AS step (k)
    CROSS JOIN (VALUES (0), (1)) AS leg (j)
ORDER BY slot, step.k, leg.j
"""
GRANTS = """
INSERT INTO {grants} (wallet_id, source, amount, remaining, expired_amount, expires_at, priority,
    is_promotional, cost_basis, currency, transaction_id, created_at)
SELECT wallet_id, 'purchase', %(pack)s, 0,
       CASE WHEN expires THEN %(pack)s - %(first)s ELSE 0 END,
       bought + interval '20 days', 50, false,
       CASE WHEN currency = 'eur' THEN 0.009 ELSE 0.01 END, currency,
       %(txn)s + slot * 3, bought
FROM bench_plan ORDER BY slot
"""
ALLOCATIONS = """
INSERT INTO {allocations} (transaction_id, grant_id, amount)
SELECT g.transaction_id + step.k, g.id,
       CASE step.k WHEN 1 THEN %(first)s ELSE %(pack)s - %(first)s END
FROM {grants} g CROSS JOIN (VALUES (1), (2)) AS step (k)
WHERE g.transaction_id >= %(txn)s
"""
PURCHASES = """
INSERT INTO {purchases} (user_id, package_id, status, amount, currency, credits, bonus_credits,
    stripe_payment_intent_id, stripe_charge_id, receipt_url, refunded_amount,
    clawed_back_credits, clawback_shortfall, dispute_outcome, open_dispute_ids,
    decided_dispute_ids, created_at, paid_at)
SELECT user_id, CASE WHEN currency = 'eur' THEN %(eur_pack)s ELSE %(usd_pack)s END, 'paid',
       CASE WHEN currency = 'eur' THEN 0.90 ELSE 1.00 END, currency, %(pack)s, 0, '', '', '',
       0, 0, 0, '', '[]', '[]', bought, bought
FROM bench_plan ORDER BY slot
"""

# One user in ten also subscribes, from the first month, to a plan billed each month: 8.00, or
# 20.00 one month in six (so MRR expands and contracts). The invoices grant no credits here:
# the ledger's rows are the packs', so the flow and the roll-forward still close.
SUBSCRIPTIONS = """
INSERT INTO {subscriptions} (user_id, package_id, stripe_subscription_id, status,
    current_period_start, current_period_end, cancel_at_period_end, created_at)
SELECT user_id, %(plan)s, 'sub_bench_' || n, 'active', bought, bought + interval '1 month',
       false, bought
FROM bench_plan WHERE n %% 10 = 1 AND month = 0
"""
INVOICES = """
INSERT INTO {invoices} (subscription_id, stripe_invoice_id, stripe_payment_intent_id, amount,
    currency, period_start, period_end, credits, rollover_credits, refunded_amount,
    chargeback_lost, clawed_back_credits, clawback_shortfall, created_at)
SELECT s.id, 'in_bench_' || p.slot, 'pi_bench_in_' || p.slot,
       CASE WHEN (p.n + p.month) %% 6 = 0 THEN 20.00 ELSE 8.00 END,
       'usd', p.bought, p.bought + interval '1 month', %(pack)s, 0, 0, false, 0, 0, p.bought
FROM bench_plan p JOIN {subscriptions} s ON s.stripe_subscription_id = 'sub_bench_' || p.n
WHERE p.n %% 10 = 1
"""


@dataclass
class Built:
    users: int
    months: int
    entries: int
    seconds: float
    period: Period  # the months built


def build(*, users: int, months: int, first_month: datetime) -> Built:
    """`users` users with `months` months each from `first_month` (the start of a month)."""
    began = time.perf_counter()
    with transaction.atomic():
        User = get_user_model()
        unusable = "!"  # no password signs these users in (Django's unusable prefix)
        made = User.objects.bulk_create(
            User(email=f"bench-{n}@bench.test", password=unusable) for n in range(users)
        )
        Wallet.objects.bulk_create(Wallet(kind=Wallet.Kind.USER, user=user) for user in made)
        usd = CreditPackage.objects.create(name="Bench", credits=PACK_CREDITS, price=Decimal(1))
        eur = CreditPackage.objects.create(
            name="Bench EUR", credits=PACK_CREDITS, price=Decimal("0.90"), currency="eur"
        )
        plan = CreditPackage.objects.create(
            name="Bench plan", kind=CreditPackage.Kind.PLAN, interval="month",
            credits=PACK_CREDITS, price=Decimal(8),
        )  # fmt: skip
        slots = users * months
        with connection.cursor() as cursor:
            params = {
                "first_month": first_month,
                "months": months,
                "pack": PACK_CREDITS,
                "first": FIRST_SPEND,
                "txn": reserve_ids(cursor, TRANSACTION_TABLE, 3 * slots),
                "entry": reserve_ids(cursor, ENTRY_TABLE, 6 * slots),
                "purchases": services.system_wallet_id("purchases"),
                "consumption": services.system_wallet_id("consumption"),
                "expired": services.system_wallet_id("expired"),
                "usd_pack": usd.pk,
                "eur_pack": eur.pk,
                "plan": plan.pk,
            }
            tables = {
                "wallets": WALLET_TABLE,
                "users": User._meta.db_table,
                "transactions": TRANSACTION_TABLE,
                "entries": ENTRY_TABLE,
                "grants": GRANT_TABLE,
                "allocations": ALLOCATION_TABLE,
                "purchases": PURCHASE_TABLE,
                "subscriptions": Subscription._meta.db_table,
                "invoices": SubscriptionInvoice._meta.db_table,
            }
            statements = (PLAN, TRANSACTIONS, ENTRIES, GRANTS, ALLOCATIONS, PURCHASES)
            for statement in (*statements, SUBSCRIPTIONS, INVOICES):
                cursor.execute(statement.format(**tables), params)
            entries = Entry.objects.count()
            cursor.execute(
                f"ANALYZE {', '.join([WALLET_TABLE, *list(tables.values())[2:], MONEY_BACK_TABLE])}"
            )
    last = _month_after(first_month, months)
    return Built(users, months, entries, time.perf_counter() - began, Period(first_month, last))


def _month_after(start: datetime, count: int) -> datetime:
    index = start.year * 12 + start.month - 1 + count
    return start.replace(year=index // 12, month=index % 12 + 1)


@dataclass
class Timing:
    page: str
    ms: float
    queries: int
    status: int


def analyst_client() -> Client:
    """A superuser's session that passed two-factor, as the admin requires of staff."""
    from allauth.account.internal.flows.login import record_authentication
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    user = get_user_model().objects.create_superuser(email="bench-analyst@bench.test")
    TOTP.activate(user, generate_totp_secret())
    client = Client()
    client.force_login(user)
    request = RequestFactory().get("/")
    request.session = client.session
    record_authentication(request, user, "password", email=user.email)
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    record_authentication(request, user, "mfa", id=authenticator.pk, type="totp")
    request.session.save()
    return client


def pages() -> list[str]:
    """Every analytics page registered in the admin, by URL name."""
    return sorted(
        f"admin:analytics_{model._meta.model_name}_changelist"
        for model in admin.site._registry
        if model._meta.app_label == "analytics"
    )


def time_page(client: Client, name: str, query: dict, runs: int = 3) -> Timing:
    """The best of `runs` requests after one to warm up, in server time (in process)."""
    url = reverse(name)
    # The test client's host and an HTTPS request, as production's settings want them.
    with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
        client.get(url, query, secure=True)
        best, queries, status = float("inf"), 0, 0
        for _ in range(runs):
            with CaptureQueriesContext(connection) as captured:
                began = time.perf_counter()
                response = client.get(url, query, secure=True)
                elapsed = time.perf_counter() - began
            best = min(best, elapsed)
            queries, status = len(captured), response.status_code
    return Timing(name.split("_")[1], best * 1000, queries, status)


def best_ms(action: Callable[[], object], runs: int = 3) -> float:
    timings = []
    for _ in range(runs):
        began = time.perf_counter()
        action()
        timings.append(time.perf_counter() - began)
    return min(timings) * 1000
