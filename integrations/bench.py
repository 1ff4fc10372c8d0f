"""What the benchmarks need from partner apps (never imported by the app itself).

`subscribe_to_spends` is `credits_bench --listener`'s: an approved partner app that every
benched wallet's owner consented to (credits:read), with a webhook endpoint subscribed to
credits.spent, so every spend in the bench writes its event as it would in production. The
endpoint's address is a local one that nothing answers: the bench queues deliveries, it does
not make them.
"""

from django.contrib.auth import get_user_model
from django.test.utils import override_settings

from integrations.models import PartnerApp
from integrations.services import apps, consents, webhooks

BENCH_URL = "http://127.0.0.1:9/credits-bench"


def approved_app() -> PartnerApp:
    """An approved partner app (in a benchmark's own database)."""
    owner = get_user_model().objects.create_user(email="bench-partner@example.com")
    app, _secret = apps.register(
        owner=owner,
        name="Bench partner",
        homepage="https://bench.example.com",
        redirect_uris="https://bench.example.com/callback",
        allowed_scopes="openid credits:read",
    )
    return apps.change_status(app=app, to=PartnerApp.Status.APPROVED, reason="bench", by=owner)


def subscribe_to_spends(wallets) -> str:
    app = approved_app()
    users = get_user_model().objects.filter(wallet__in=[wallet.pk for wallet in wallets])
    for user in users:
        consents.give(app=app, user=user, scope_names=["openid", "credits:read"], cap=1)
    with override_settings(INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS=["127.0.0.1:9"]):
        webhooks.create(app=app, url=BENCH_URL, event_types=["credits.spent"])
    return (
        f"{users.count()} wallets' owners consented to one partner app whose webhook "
        "endpoint wants credits.spent"
    )
