"""Demo partner app for `manage.py seed_demo`: Copywriter Studio, developed by bob, approved by
the demo admin; alice allowed it (with a spending cap) and it charged her: a spend, a hold it
captured, and a hold still open. An API key is made for it; the key and the app's client secret
are printed once, when they are made (only their hashes are kept). In development its webhook
endpoint points at the demo receiver of this site (/developers/demo-webhook-receiver/).

It runs after the shop's demo (`SEED_AFTER`), whose purchases it charges, and before the
ledger's, whose last block (credits that expire soon) its charges must not take.
"""

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from oauth2_provider.settings import oauth2_settings

from accounts.models import User
from core.links import absolute_url
from credits import services as credits
from credits.actors import Actor
from integrations.models import PartnerApp, WebhookEndpoint
from integrations.services import apps, caps, consents, keys, webhook_http, webhooks

SEED_AFTER = ("billing",)
NAME = "Copywriter Studio"
DEVELOPER = "bob@creditdesk.test"
CUSTOMER = "alice@creditdesk.test"
REVIEWER = "admin@creditdesk.test"
SCOPES = "openid profile email credits:read credits:hold credits:spend usage:read"
CONSENTED = "openid profile email credits:read credits:hold credits:spend"
CAP, PROPOSED_CAP = 400, 500
# The site's own callback page shows the code to exchange by hand (docs/partners.md); an https
# address too, the only kind allowed when DEBUG is off.
HTTPS_CALLBACK = "https://copywriter.example.com/oauth/callback"
# What the demo endpoint subscribes to: the app's own charges and holds, and alice's credits.
WEBHOOK_TYPES = ["credits.spent", "credits.granted", "hold.placed", "hold.captured"]


def seed(stdout) -> None:
    """Create the demo app once: if it is there, it is left as it is."""
    developer = User.objects.filter(email=DEVELOPER).first()
    customer = User.objects.filter(email=CUSTOMER).first()
    reviewer = User.objects.filter(email=REVIEWER).first()
    if developer is None or customer is None or reviewer is None:
        return
    existing = PartnerApp.objects.filter(user=developer, name=NAME).first()
    if existing is not None:
        stdout.write(
            f"Demo partner app: {NAME} (client id {existing.client_id}) already there, left "
            "unchanged (its client secret and key were printed when they were made)."
        )
        return
    if not oauth2_settings.OIDC_RSA_PRIVATE_KEY:
        stdout.write(
            "Demo partner app: skipped, as partner apps sign ID tokens with a key that is not "
            "set (OIDC_RSA_PRIVATE_KEY; `make run` makes one)."
        )
        return
    local_callback = absolute_url(reverse("developers:callback"))
    uris = [HTTPS_CALLBACK, *([local_callback] if "http" in apps.web_schemes() else [])]
    app, client_secret = apps.register(
        owner=developer,
        name=NAME,
        homepage="https://copywriter.example.com",
        description="Writes and edits copy for your site; charges per piece in credits.",
        redirect_uris="\n".join(uris),
        allowed_scopes=SCOPES,
        proposed_cap=PROPOSED_CAP,
    )
    app = apps.change_status(
        app=app, to=PartnerApp.Status.APPROVED, reason="Demo app, reviewed.", by=reviewer
    )
    consents.give(app=app, user=customer, scope_names=CONSENTED.split(), cap=CAP)
    key = keys.create(
        app=app, name="Demo server", scope_names=["credits:read", "usage:read"], by=developer
    )
    endpoint = _webhook_endpoint(app)
    _charge(app, customer)
    stdout.write(
        f"Demo partner app: {NAME} by {DEVELOPER}, approved; {CUSTOMER} allowed it with a cap "
        f"of {CAP} credits per 30 days, and it charged her.\n"
        f"  client id     {app.client_id}\n"
        f"  client secret {client_secret}\n"
        f"  API key       {key.secret}\n"
        f"  redirect URIs {' '.join(uris)}\n"
        "  (the secret and the key are shown now only: CreditDesk keeps their hashes)"
    )
    if endpoint is not None:
        stdout.write(
            f"  webhooks      {endpoint.url} ({', '.join(WEBHOOK_TYPES)}): deliveries are in "
            "the admin and on the app's Developers page"
        )


def _webhook_endpoint(app: PartnerApp) -> WebhookEndpoint | None:
    """The demo app's endpoint at the demo receiver, where the receiver's host is allow-listed
    (development): it verifies each delivery with the endpoint's secret and answers 204."""
    url = absolute_url(reverse("developers:demo-webhook-receiver"))
    if not webhook_http.allow_listed(url) and not url.startswith("https://"):
        return None
    return webhooks.create(
        app=app, url=url, event_types=WEBHOOK_TYPES, description="The demo receiver"
    ).endpoint


def demo_endpoint() -> WebhookEndpoint | None:
    """The endpoint the demo receiver checks signatures with."""
    return (
        WebhookEndpoint.objects.filter(
            app__name=NAME,
            app__user__email=DEVELOPER,
            url__endswith=reverse("developers:demo-webhook-receiver"),
        )
        .order_by("-id")
        .first()
    )


def _charge(app: PartnerApp, user: User) -> None:
    actor = Actor.for_app(
        app.pk, app.name, user_id=user.pk, charge_limit=caps.charge_limit(app.pk, user.pk)
    )
    wallet = user.wallet
    credits.spend(
        wallet=wallet,
        amount=40,
        description="Product description, 300 words",
        actor=actor,
        idempotency_key="partner-demo:spend",
    )
    article = credits.hold(
        wallet=wallet,
        amount=120,
        description="Blog article (writing)",
        expires_at=timezone.now() + timedelta(days=7),
        actor=actor,
        idempotency_key="partner-demo:hold-article",
    ).hold
    credits.capture(
        hold=article,
        amount=90,
        description="Blog article, 1,200 words",
        actor=actor,
        idempotency_key="partner-demo:capture-article",
    )
    credits.hold(
        wallet=wallet,
        amount=60,
        description="Newsletter (in progress)",
        expires_at=timezone.now() + timedelta(days=7),
        actor=actor,
        idempotency_key="partner-demo:hold-newsletter",
    )
