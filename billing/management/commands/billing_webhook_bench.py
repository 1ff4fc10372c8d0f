"""`manage.py billing_webhook_bench`: how many Stripe events per second the webhook handles.

Posts signed `checkout.session.completed` events, in-process, to dj-stripe's real webhook view,
with Stripe's API answered by the in-process fake, in a database of its own (created, migrated
and dropped by the command). Each event is verified, stored, synced by dj-stripe and fulfilled
by billing (a purchase marked paid, its credits granted); then a share of them is delivered
again, as Stripe does, and must grant nothing more.
"""

import json
import time
from decimal import Decimal

import stripe
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import override_settings
from django.urls import reverse
from djstripe.models import Customer, WebhookEndpoint

from accounts.models import User
from billing.models import CreditPackage, Purchase
from billing.testing import FakeStripe, event, own_stripe_account, sign
from credits.bench.scratch import scratch_database
from credits.models import CreditTransaction
from credits.reconciliation import reconcile

KEY = "sk_test_" + "b2" * 12
SECRET = "whsec_bench"  # noqa: S105 (the bench endpoint's, in its own database)


class Command(BaseCommand):
    help = "Measure webhook events per second on PostgreSQL (signed events, fake Stripe API)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--events", type=int, default=500, help="Distinct events (default 500)."
        )
        parser.add_argument("--users", type=int, default=50, help="Buyers (default 50).")

    def handle(self, *args, events: int, users: int, **options):
        if connection.vendor != "postgresql":
            raise CommandError("billing_webhook_bench needs PostgreSQL (DATABASE_URL)")
        if events < 1 or users < 1:
            raise CommandError("--events and --users must be at least 1.")
        fake = FakeStripe()
        previous_client = stripe.default_http_client
        stripe.default_http_client = fake
        try:
            with (
                # In-process requests: the test client's host, over plain HTTP.
                override_settings(
                    STRIPE_SECRET_KEY=KEY,
                    STRIPE_LIVE_MODE=False,
                    ALLOWED_HOSTS=["testserver"],
                    SECURE_SSL_REDIRECT=False,
                ),
                scratch_database("webhooks") as name,
            ):
                self.stdout.write(f"billing_webhook_bench: {events} events, in database {name}")
                self.run(fake, events=events, users=users)
        finally:
            stripe.default_http_client = previous_client

    def run(self, fake: FakeStripe, *, events: int, users: int) -> None:
        endpoint = _setup_stripe(fake)
        payloads = _checkout_events(fake, events=events, users=users)
        client = Client(raise_request_exception=False)
        url = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": endpoint.djstripe_uuid})

        started = time.perf_counter()
        statuses = [_post(client, url, payload) for payload in payloads]
        first = time.perf_counter() - started
        again = payloads[: max(1, events // 5)]
        started = time.perf_counter()
        statuses += [_post(client, url, payload) for payload in again]
        second = time.perf_counter() - started

        failures = [status for status in statuses if status != 200]
        grants = CreditTransaction.objects.filter(kind="grant").count()
        report = reconcile()
        self.stdout.write(
            f"first deliveries: {events} in {first:.2f} s = {events / first:.0f} events/s"
        )
        self.stdout.write(
            f"redeliveries: {len(again)} in {second:.2f} s = {len(again) / second:.0f} events/s"
        )
        self.stdout.write(
            f"failed responses: {len(failures)} {sorted(set(failures))}; "
            f"grants: {grants} (expected {events}); "
            f"reconcile: {'clean' if report.clean else report.problems[:3]}"
        )
        self.stdout.write(f"webhook events per second: {events / first:.0f}")


def _setup_stripe(fake: FakeStripe) -> WebhookEndpoint:
    own_stripe_account(secret_key=KEY, account_id="acct_bench")
    return WebhookEndpoint.objects.create(
        id="we_bench",
        url="https://bench.test/",
        secret=SECRET,
        enabled_events=["*"],
        status="enabled",
        livemode=False,
        api_version=settings.STRIPE_API_VERSION,
    )


def _checkout_events(fake: FakeStripe, *, events: int, users: int) -> list[dict]:
    """Pending purchases and the signed events that say they were paid."""
    package = CreditPackage.objects.create(
        name="Bench", credits=1000, price=Decimal("10.00"), stripe_price_id="price_bench"
    )
    buyers = []
    for index in range(users):
        user = User.objects.create_user(email=f"buyer{index}@bench.test")
        customer = {"id": f"cus_bench{index}", "object": "customer", "email": user.email}
        fake.add(customer)
        Customer.sync_from_stripe_data(customer)
        buyers.append((user, customer["id"]))
    payloads = []
    for index in range(events):
        user, customer = buyers[index % users]
        purchase = Purchase.objects.create(
            user=user,
            package=package,
            amount=package.price,
            currency="usd",
            credits=package.credits,
            stripe_checkout_session_id=f"cs_bench{index}",
        )
        session = {
            "id": purchase.stripe_checkout_session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "complete",
            "payment_status": "paid",
            "customer": customer,
            "payment_intent": f"pi_bench{index}",
            "amount_total": 1000,
            "currency": "usd",
            "metadata": {"purchase_id": str(purchase.pk)},
            "livemode": False,
        }
        fake.add(session)
        payloads.append(event("checkout.session.completed", session))
    return payloads


def _post(client: Client, url: str, payload: dict) -> int:
    body = json.dumps(payload)
    return client.post(
        url, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(body, SECRET)
    ).status_code
