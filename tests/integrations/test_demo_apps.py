"""`manage.py seed_demo` registers Copywriter Studio: approved, allowed by alice with a cap, with
an API key (printed once) and charges it made through the ledger's services; twice is once."""

import re

import pytest
from django.core.management import call_command

from credits.models import CreditTransaction, Hold
from credits.reconciliation import reconcile
from integrations.demo import CAP, NAME
from integrations.models import AppKey, AppStatusChange, Consent, PartnerApp, WebhookEndpoint
from integrations.services import caps, keys

pytestmark = pytest.mark.django_db


def partner_snapshot():
    return (
        sorted(PartnerApp.objects.values_list("name", "status", "user__email", "client_id")),
        sorted(Consent.objects.values_list("app__name", "user__email", "cap", "revoked_at")),
        sorted(AppKey.objects.values_list("prefix", "scopes", "revoked_at")),
        AppStatusChange.objects.count(),
        sorted(
            CreditTransaction.objects.filter(actor_app_id__isnull=False).values_list(
                "kind", "amount", "wallet__user__email"
            )
        ),
        sorted(Hold.objects.values_list("pk", "status", "captured_amount")),
    )


def test_seed_demo_twice_leaves_the_same_partner_app(capsys):
    call_command("seed_demo", force=True)
    first = partner_snapshot()
    capsys.readouterr()

    call_command("seed_demo", force=True)

    assert partner_snapshot() == first
    out = capsys.readouterr().out
    assert f"Demo partner app: {NAME}" in out
    assert "left unchanged" in out
    assert "API key       cdk_" not in out  # printed once, when it was made
    assert reconcile().clean


def test_the_demo_app_is_approved_with_a_consent_a_key_and_charges(capsys):
    call_command("seed_demo", force=True)
    out = capsys.readouterr().out

    app = PartnerApp.objects.get(name=NAME)
    consent = Consent.objects.get(app=app, revoked_at__isnull=True)
    assert (app.status, app.user.email) == ("approved", "bob@creditdesk.test")
    assert (consent.user.email, consent.cap) == ("alice@creditdesk.test", CAP)
    charges = CreditTransaction.objects.filter(actor_app_id=app.pk)
    # The article's hold captured in part (the rest released), the newsletter's still open.
    kinds = sorted(charges.values_list("kind", flat=True))
    assert kinds == ["capture", "hold", "hold", "release", "spend"]
    assert set(charges.values_list("wallet__user__email", flat=True)) == {consent.user.email}
    assert set(charges.values_list("actor_label", flat=True)) == {NAME}
    held = Hold.objects.filter(transactions__actor_app_id=app.pk).distinct()
    assert sorted(held.values_list("status", flat=True)) == ["captured", "open"]
    # The spend (40), the capture (90) and the open hold (60) use the cap.
    assert caps.cap_use(consent).used == 190
    printed = re.search(r"API key\s+(cdk_\S+)", out)[1]
    assert keys.authenticate(printed).app == app
    assert re.search(r"client id\s+(\S+)", out)[1] == app.client_id
    assert reconcile().clean


def test_the_demo_app_lives_at_the_address_make_run_serves(settings):
    # `make run ADDRESS=127.0.0.1:8066` sets SITE_URL to what it serves; the settings then
    # allow-list that host for webhooks (tests/test_settings.py).
    settings.SITE_URL = "http://127.0.0.1:8066"
    settings.INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1:8066"]
    settings.DEBUG = True
    schemes = {"ALLOWED_REDIRECT_URI_SCHEMES": ["https", "http"]}  # DEBUG's, in config/settings
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, **schemes}

    call_command("seed_demo", force=True)

    app = PartnerApp.objects.get(name=NAME)
    endpoint = WebhookEndpoint.objects.get(app=app)
    assert endpoint.url == "http://127.0.0.1:8066/developers/demo-webhook-receiver/"
    assert "http://127.0.0.1:8066/developers/callback/" in app.redirect_uris.split()
