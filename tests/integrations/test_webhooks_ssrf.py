"""SSRF: an endpoint's URL is resolved on every attempt and refused when any address is inside
(loopback, private, link-local, metadata…); plain http only for allow-listed hosts; a refusal
is a failed attempt with the reason in the log, and nothing is sent."""

import pytest
from django.test import override_settings

from credits import services
from credits.actors import Actor
from integrations.errors import InvalidWebhook
from integrations.models import WebhookDelivery
from integrations.services import webhooks
from tests.credits.conftest import fund, key
from tests.integrations.partners import approved_app
from tests.integrations.webhook_receiver import app_with_endpoint, reader_of

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.enable_socket,
    pytest.mark.usefixtures("ledger_reconciles"),
]


def attempted(url: str, capture) -> WebhookDelivery:
    app, endpoint, _ = app_with_endpoint(url)
    user = reader_of(app)
    fund(user.wallet, 100)
    actor = Actor.for_app(app.pk, app.name, user_id=user.pk)
    with capture(execute=True):
        services.spend(wallet=user.wallet, amount=5, actor=actor, idempotency_key=key())
    return WebhookDelivery.objects.get(endpoint=endpoint)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://127.0.0.1/hooks", "loopback"),
        ("https://10.0.0.1/hooks", "private"),
        ("https://192.168.1.20:8443/hooks", "private"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[fd00:ec2::254]/", "metadata"),
        ("https://[::1]/hooks", "loopback"),
        ("https://[::ffff:127.0.0.1]/hooks", "loopback"),
        ("https://[64:ff9b::a9fe:a9fe]/latest/meta-data/", "metadata"),  # NAT64
        ("https://[2002:a9fe:a9fe::1]/latest/meta-data/", "metadata"),  # 6to4
        ("https://0.0.0.0/hooks", "unspecified"),
        ("https://localhost/hooks", "loopback"),  # a name that resolves to 127.0.0.1 (/etc/hosts)
        ("https://2130706433/hooks", "loopback"),  # 127.0.0.1 written as one decimal number
        ("https://0177.0.0.1/hooks", "loopback"),  # and in octal
        ("https://0x7f.1/hooks", "loopback"),
        ("https://[::ffff:169.254.169.254]/", "metadata"),
        ("https://[fc00::1]/hooks", "private"),
        ("https://[fe80::1]/hooks", "link-local"),
        # Not private to Python, yet not on the internet either:
        ("https://100.100.100.200/latest/meta-data/", "metadata"),  # Alibaba Cloud's metadata
        ("https://100.64.0.1/hooks", "shared"),  # carrier-grade NAT, Tailscale, some VPCs
        ("https://[fec0::1]/hooks", "site-local"),
        ("https://[2002:7f00:1::]/hooks", "loopback"),  # 6to4 of 127.0.0.1
        ("https://[2002:a9fe:a9fe::]/hooks", "metadata"),  # 6to4 of 169.254.169.254
    ],
)
def test_an_address_inside_is_refused_on_the_attempt(
    url, why, django_capture_on_commit_callbacks, settings
):
    settings.INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS = []
    delivery = attempted(url, django_capture_on_commit_callbacks)
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None
    assert why in attempt.error
    assert "Refused" in attempt.error
    assert (delivery.status, delivery.attempts) == ("failed", 1)


def test_the_allow_list_is_for_its_exact_host_and_port(
    receiver, django_capture_on_commit_callbacks
):
    """The receiver's 127.0.0.1:<port> is allowed; the same address on another port is not."""
    port = int(receiver.url.split(":")[2].split("/")[0])
    delivery = attempted(f"https://127.0.0.1:{port + 1}/hooks", django_capture_on_commit_callbacks)
    assert "loopback" in delivery.attempt_log.get().error
    assert receiver.requests == []


def test_plain_http_is_refused_at_registration_unless_allow_listed(settings):
    settings.INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1:9000"]
    app = approved_app()
    with pytest.raises(InvalidWebhook, match="https"):
        webhooks.create(
            app=app, url="http://partner.example.com/hooks", event_types=["credits.spent"]
        )
    with pytest.raises(InvalidWebhook, match="https"):
        webhooks.create(app=app, url="http://127.0.0.1:9001/hooks", event_types=["credits.spent"])
    with pytest.raises(InvalidWebhook, match="https"):
        webhooks.create(app=app, url="ftp://partner.example.com/", event_types=["credits.spent"])
    allowed = webhooks.create(
        app=app, url="http://127.0.0.1:9000/hooks", event_types=["hold.placed"]
    )
    assert allowed.endpoint.url == "http://127.0.0.1:9000/hooks"
    assert list(app.webhook_endpoints.all()) == [allowed.endpoint]


@override_settings(INTEGRATIONS_WEBHOOK_ALLOWED_HOSTS=[])
def test_a_host_that_does_not_resolve_is_a_failed_attempt(django_capture_on_commit_callbacks):
    delivery = attempted("https://no-such-host.invalid/hooks", django_capture_on_commit_callbacks)
    assert "does not resolve" in delivery.attempt_log.get().error


def test_secrets_are_whsec_and_unique_per_endpoint():
    app = approved_app()
    first = webhooks.create(app=app, url="https://a.example.com/", event_types=["credits.spent"])
    second = webhooks.create(app=app, url="https://b.example.com/", event_types=["credits.spent"])
    import base64

    for new in (first, second):
        assert new.secret.startswith("whsec_")
        assert len(base64.b64decode(new.secret.removeprefix("whsec_"))) >= 24
    assert first.secret != second.secret
